import type { ChannelHooks } from './hooks.js';

/**
 * What a Telegram deep link's `/start <payload>` carries (docs/telegram.md): `src-<tag>` an
 * acquisition tag (recorded on the channel: where the member came from); a payload a feature
 * recognises (the referral feature: `ref-<CODE>` or a bare code) is taken as text the member said
 * (ChannelHooks.startPayloadText); anything else is kept as a tag. Telegram allows 1-64 characters
 * of A-Z a-z 0-9 _ - in a payload.
 *
 * @example sourceOfStartPayload('src-xhs', hooks) // 'xhs'
 */
export function sourceOfStartPayload(payload: string, hooks: ChannelHooks): string | null {
  const p = payload.trim();
  if (p === '') return null;
  const src = /^src[-_]([A-Za-z0-9_-]{1,60})$/i.exec(p);
  if (src) return src[1]!;
  if (hooks.startPayloadText(p) !== null) return null;
  const tag = p.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  return tag === '' ? null : tag;
}
