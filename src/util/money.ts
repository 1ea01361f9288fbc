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

/** The largest amount a seller types in yuan (a cost, a refund): ¥999,999,999.99. */
const YUAN_TEXT = /^\d{1,9}(\.\d{1,2})?$/;

/**
 * An amount a person typed in yuan, as fen, or undefined when it is not plain decimal yuan with at
 * most 2 decimals: `Number()` alone reads "0x10" as 16, " " as 0 and "1e3" as 1000. A JSON
 * number is accepted when its decimal form is such an amount. Computed without floating point.
 *
 * @example parseYuan('12.5') // 1250
 * @example parseYuan('0x10') // undefined
 */
export function parseYuan(input: unknown): number | undefined {
  const text = typeof input === 'number' ? (Number.isFinite(input) && input >= 0 ? String(input) : '') : typeof input === 'string' ? input : '';
  if (!YUAN_TEXT.test(text)) return undefined;
  const [whole, cents = ''] = text.split('.');
  return Number(whole) * 100 + Number(cents.padEnd(2, '0'));
}
