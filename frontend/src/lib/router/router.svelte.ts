import { hrefOf, parseHash, type Route } from './routes'

/** The current route, following `location.hash`. */
export const router = $state<{ route: Route }>({ route: parseHash(location.hash) })

window.addEventListener('hashchange', () => {
  router.route = parseHash(location.hash)
})

export function navigate(route: Route): void {
  const hash = hrefOf(route)
  // Set at once, not only on the (later) hashchange event, so the page never shows a stale route.
  router.route = parseHash(hash)
  if (location.hash !== hash) location.hash = hash
}

/** Replaces the address without adding a history entry (and without the server ever seeing it). */
export function replaceRoute(route: Route): void {
  history.replaceState(history.state, '', location.pathname + location.search + hrefOf(route))
  router.route = route
}
