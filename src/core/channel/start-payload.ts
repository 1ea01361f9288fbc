import { isWellFormed, normalizeCode } from '../../flows/referral/code.js';

/**
 * What a Telegram deep link's `/start <payload>` carries (docs/telegram.md): `ref-<CODE>` a
 * referral code (handled as if the member said it), `src-<tag>` an acquisition tag (recorded on the
 * channel: where the member came from). A bare well-formed code counts as a code; anything else is
 * taken as a tag. Telegram allows 1-64 characters of A-Z a-z 0-9 _ - in a payload.
 *
 * @example parseStartPayload('ref-K7M2XQ') // { code: 'K7M2XQ', source: null }
 * @example parseStartPayload('src-xhs')    // { code: null, source: 'xhs' }
 */
export function parseStartPayload(payload: string): { code: string | null; source: string | null } {
  const p = payload.trim();
  if (p === '') return { code: null, source: null };
  const ref = /^ref[-_]([A-Za-z0-9]{4,12})$/i.exec(p);
  if (ref) return { code: normalizeCode(ref[1]!), source: null };
  const src = /^src[-_]([A-Za-z0-9_-]{1,60})$/i.exec(p);
  if (src) return { code: null, source: src[1]! };
  if (/^[A-Za-z0-9]{4,12}$/.test(p) && isWellFormed(normalizeCode(p))) return { code: normalizeCode(p), source: null };
  const tag = p.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  return { code: null, source: tag === '' ? null : tag };
}

/** The acquisition tag a /start payload carries, if any. */
export function sourceOfStartPayload(payload: string): string | null {
  return parseStartPayload(payload).source;
}

/** What the rules see as the text of a Start: "推荐码 <CODE>" for a referral link (as if said), else nothing. */
export function textOfStartPayload(payload: string): string {
  const { code } = parseStartPayload(payload);
  return code ? `推荐码 ${code}` : '';
}
