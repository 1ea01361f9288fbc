import { randomBytes } from 'node:crypto';
import type { Db } from '../../store/db.js';
import { activeCodeOf, insertCode, type ReferralCode } from './store.js';

/**
 * Referral codes: short, read aloud and typed from a phone without mistakes. The alphabet leaves
 * out 0/O, 1/I/L (and lowercase: input is upper-cased), so nothing can be misread.
 */
export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const DIGITS = '23456789';

/** Random bytes from the OS CSPRNG: codes must not be guessable from the ones before them. */
export type ByteSource = (n: number) => Uint8Array;
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;
/** OS randomness drawn 4 KB at a time (one call per ~300 codes instead of one per code, as nanoid does). */
export const cryptoBytes: ByteSource = (n) => {
  if (n > POOL_SIZE) return randomBytes(n);
  if (poolAt + n > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
};

/**
 * Draws one code of `length` characters, uniformly from CODE_ALPHABET by rejection sampling (no
 * modulo bias). A code always has at least one digit and one letter, so an ordinary word said in
 * the group ("PANDAS", "THANKS") is never taken for a code.
 *
 * @example generateCode(6) // 'K7M2XQ'
 */
export function generateCode(length: number, bytes: ByteSource = cryptoBytes): string {
  const n = CODE_ALPHABET.length;
  // The largest multiple of n below 256: bytes at or above it are dropped, so every character is equally likely.
  const limit = 256 - (256 % n);
  for (;;) {
    let code = '';
    while (code.length < length) {
      for (const b of bytes(length * 2)) {
        if (b < limit) code += CODE_ALPHABET[b % n];
        if (code.length === length) break;
      }
    }
    if (isWellFormed(code)) return code;
  }
}

/** A code as the member typed it: upper case, without spaces or dashes. */
export function normalizeCode(text: string): string {
  return text.toUpperCase().replace(/[\s\-_]/g, '');
}

/** In the alphabet, with a digit and a letter. */
export function isWellFormed(code: string, minLength = 4, maxLength = 12): boolean {
  if (code.length < minLength || code.length > maxLength) return false;
  let digit = false;
  let letter = false;
  for (const ch of code) {
    if (!CODE_ALPHABET.includes(ch)) return false;
    if (DIGITS.includes(ch)) digit = true;
    else letter = true;
  }
  return digit && letter;
}

const KEYWORD = /(?:推荐码|邀请码|推薦碼|邀請碼|referral\s*code|invite\s*code|\bcode)\s*(?:是|为|is|:|：)?\s*([A-Za-z0-9][A-Za-z0-9 -]{2,14}[A-Za-z0-9])/iu;
const WHOLE = /^[A-Za-z0-9]{4,12}$/;

/**
 * The code in a message: after a keyword ("推荐码 K7M2XQ", "code: k7m2xq"), or a message that is
 * nothing but a well-formed code. Returns the normalised code, or null.
 * With a keyword the code is returned even when malformed (the member gets a clear "unknown code"
 * reply); a bare word must look like a code to be taken for one.
 */
export function findCodeInText(text: string): string | null {
  const t = text.trim();
  const k = KEYWORD.exec(t);
  if (k) {
    // "推荐码 K7M2XQ thanks": the first word; "推荐码 K7M 2XQ": a code typed in groups.
    const first = k[1]!.split(/\s+/)[0]!;
    const token = normalizeCode(first.length >= 4 ? first : k[1]!);
    return token.length >= 4 && token.length <= 12 ? token : null;
  }
  if (WHOLE.test(t)) {
    const code = normalizeCode(t);
    return isWellFormed(code) ? code : null;
  }
  return null;
}

/**
 * The member's active code, issuing one if they have none. Collisions (one in about 9 000 at
 * 100 000 codes of 6 characters) are retried against the store's unique key.
 */
export function ensureCode(db: Db, args: { memberId: string; length: number; now: number; bytes?: ByteSource }): { code: ReferralCode; issued: boolean } {
  const existing = activeCodeOf(db, args.memberId);
  if (existing) return { code: existing, issued: false };
  for (let attempt = 0; attempt < 20; attempt++) {
    const code = generateCode(args.length, args.bytes);
    if (insertCode(db, { code, memberId: args.memberId, kind: 'random', now: args.now })) {
      return { code: { code, member_id: args.memberId, kind: 'random', created_at: args.now, retired_at: null }, issued: true };
    }
  }
  // 20 collisions in a row means the code space is nearly full: the operator must lengthen codes.
  throw new Error(`could not draw a free referral code of length ${args.length} in 20 attempts; raise referral.code_length`);
}
