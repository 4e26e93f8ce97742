/** An attachment (`{@attach focusOnMount}`) that puts the focus into an element once it is shown. */
export function focusOnMount(node: Element): void {
  if (node instanceof HTMLElement) node.focus()
}
