/**
 * Fen as yuan for messages and CSV: whole yuan without decimals, else two (3000 → "30",
 * 1999 → "19.99", -500 → "-5"). Its own module with no imports: the CLI and the referral code
 * use it without loading the rest of the referral module (which the order service imports).
 */
export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const a = Math.abs(fen);
  return sign + (a % 100 === 0 ? String(a / 100) : (a / 100).toFixed(2));
}
