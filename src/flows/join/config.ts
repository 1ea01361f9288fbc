/**
 * kequn.yaml's `join:` — the join page's pools and channels (docs/join.md).
 *
 * @example
 * join:
 *   pools:
 *     python-trial: { groups: [python-101, python-102], capacity: 200, low_at: 20 }
 *   channels:
 *     gzh: 公众号
 *     xhs: { name: 小红书, spend_fen: 50000 }
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { duration, handle } from '../../config/schema.js';
import { section } from '../../core/feature.js';
import type { JoinChannel, JoinConfig, JoinPool } from './contracts.js';

/** WeChat admits at most 200 people to a group by its QR code. */
export const WECHAT_QR_CAPACITY = 200;
/** A Telegram supergroup holds 200,000: a pool there fills by the capacity the seller sets. */
export const TELEGRAM_CAPACITY = 200_000;
export const DEFAULT_LOW_AT = 20;

const poolSchema = z.strictObject({
  groups: z.array(handle).min(1).max(50),
  /** Members a group takes before the next is used (default: 200 on WeChat, WeChat's QR limit). */
  capacity: z.number().int().min(1).max(TELEGRAM_CAPACITY).optional(),
  /** Tell staff when the pool's free places fall to this many (default 20). */
  low_at: z.number().int().min(0).optional(),
  /** What the page hands out (default: WeChat when every group has a WeChat id, else Telegram). */
  platform: z.enum(['wechat', 'telegram']).optional(),
});

const channelTag = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a channel tag is 1-32 letters, digits, - and _ (it goes in the link: ?c=xhs)');

const channelSchema = z.union([
  z.string().trim().min(1).max(20),
  z.strictObject({ name: z.string().trim().min(1).max(20), spend_fen: z.number().int().min(0).optional() }),
]);

export const joinSchema = z
  .strictObject({
    pools: z.record(handle, poolSchema).default({}),
    channels: z.record(channelTag, channelSchema).default({}),
    /** A WeChat join is credited to the channel of a page view this long before it (default 10m). */
    match_window: duration.default(600_000),
    /** Page views per client per minute (default 30). */
    views_per_minute: z.number().int().min(1).max(10_000).default(30),
    /** Where uploaded QR images are kept (default: the folder of the data file). */
    qr_dir: z.string().min(1).optional(),
    /** Ask the WeChat puppet for each group's QR code (Wechaty room.qrCode()) where it can give it (default true). */
    room_qr: z.boolean().default(true),
  })
  .default({ pools: {}, channels: {}, match_window: 600_000, views_per_minute: 30, room_qr: true });

export const joinSection = section({
  key: 'join',
  as: 'join',
  schema: joinSchema,
  resolve(raw, ctx): JoinConfig {
    const { main, file } = ctx;
    const pools: Record<string, JoinPool> = {};
    for (const [id, p] of Object.entries(raw.pools)) {
      const path = ['join', 'pools', id];
      if (id in main.groups && !(p.groups.length === 1 && p.groups[0] === id)) {
        file.problem(path, `"${id}" is a group handle: /join/${id} is that group's own page; name the pool differently`);
      }
      let ok = true;
      const kinds = new Set<string>();
      p.groups.forEach((g, i) => {
        const group = main.groups[g];
        if (!group) {
          file.problem([...path, 'groups', i], `unknown group "${g}" (groups: ${Object.keys(main.groups).join(', ')})`);
          ok = false;
          return;
        }
        // The page is public: it may only lead into groups anyone may join.
        if (group.kind !== 'trial') {
          file.problem([...path, 'groups', i], `group "${g}" is of kind ${group.kind}: a join page is public, so its groups must be trial groups (paid groups are reached by paying)`);
          ok = false;
        }
        kinds.add(group.kind);
        if (p.groups.indexOf(g) !== i) {
          file.problem([...path, 'groups', i], `group "${g}" is listed twice`);
          ok = false;
        }
      });
      if (!ok) continue;
      const platform = p.platform ?? (p.groups.every((g) => main.groups[g]!.wechat) ? 'wechat' : 'telegram');
      const missing = p.groups.filter((g) => !main.groups[g]![platform]);
      if (missing.length > 0) {
        file.problem([...path, p.platform ? 'platform' : 'groups'], `groups without a ${platform} id cannot be on a ${platform} join page: ${missing.join(', ')}`);
        continue;
      }
      const capacity = p.capacity ?? (platform === 'wechat' ? WECHAT_QR_CAPACITY : TELEGRAM_CAPACITY);
      if (platform === 'wechat' && capacity > WECHAT_QR_CAPACITY) {
        file.warn([...path, 'capacity'], `WeChat admits at most ${WECHAT_QR_CAPACITY} people by a group QR code; above that newcomers must be invited one by one`);
      }
      const places = capacity * p.groups.length;
      // Default: 20 places, or a fifth of a small pool's.
      const lowAt = p.low_at ?? Math.min(DEFAULT_LOW_AT, Math.floor(places / 5));
      if (lowAt >= places) file.problem([...path, 'low_at'], `low_at (${lowAt}) must be below the pool's places (${capacity} × ${p.groups.length})`);
      pools[id] = { id, groups: p.groups, platform, capacity, lowAt };
    }
    const channels: Record<string, JoinChannel> = {};
    for (const [tag, c] of Object.entries(raw.channels)) {
      channels[tag] = typeof c === 'string' ? { tag, name: c } : { tag, name: c.name, ...(c.spend_fen !== undefined ? { spendFen: c.spend_fen } : {}) };
    }
    return {
      pools,
      channels,
      matchWindowMs: raw.match_window,
      viewsPerMinute: raw.views_per_minute,
      roomQr: raw.room_qr,
      ...(raw.qr_dir ? { qrDir: isAbsolute(raw.qr_dir) ? raw.qr_dir : resolve(ctx.dir, raw.qr_dir) } : {}),
    };
  },
});

/**
 * The pool `/join/<handle>` names: a declared pool, else a trial group on its own (a pool of one),
 * else undefined.
 */
export function poolOf(config: { join: JoinConfig; groups: Record<string, { kind: string; wechat?: string; telegram?: string }> }, handle: string): JoinPool | undefined {
  const declared = Object.hasOwn(config.join.pools, handle) ? config.join.pools[handle] : undefined;
  if (declared) return declared;
  const g = Object.hasOwn(config.groups, handle) ? config.groups[handle] : undefined;
  if (!g || g.kind !== 'trial' || (!g.wechat && !g.telegram)) return undefined;
  const platform = g.wechat ? 'wechat' : 'telegram';
  const capacity = platform === 'wechat' ? WECHAT_QR_CAPACITY : TELEGRAM_CAPACITY;
  return { id: handle, groups: [handle], platform, capacity, lowAt: DEFAULT_LOW_AT };
}
