// The security code a pending device shows, to be read out to the school's admin.

/** The code's digits in groups of three: "123-456-789" → ["123", "456", "789"]. Anything but digits is dropped. */
export function securityCodeGroups(code: string): string[] {
  const digits = code.replace(/\D/g, '')
  const groups: string[] = []
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3))
  return groups
}

/** The code as a screen reader should say it, digit by digit: "1 2 3, 4 5 6, 7 8 9". */
export function spokenSecurityCode(code: string): string {
  return securityCodeGroups(code)
    .map((g) => g.split('').join(' '))
    .join(', ')
}
