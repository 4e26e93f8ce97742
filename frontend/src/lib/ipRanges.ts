// The IP-range editor's text: one range per line.

/** The ranges of the textarea: one per line, surrounding spaces and blank lines dropped. */
export function parseIpRanges(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
}

/** The textarea's text of stored ranges. */
export function formatIpRanges(ranges: readonly string[]): string {
  return ranges.join('\n')
}
