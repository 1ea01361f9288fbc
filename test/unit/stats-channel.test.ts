import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { channelFunnel } from '../../src/flows/dashboard/channel-funnel.js';
import { dashboard, parseFilter, type StatsContext } from '../../src/flows/dashboard/metrics.js';
import { dashboardTables, toText } from '../../src/flows/dashboard/tables.js';
import { DAY, demoConfig, HOUR, T0 } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

// A store built row by row, every figure counted by hand below. T0 = Mon 2026-03-02 09:00 Shanghai.
const NOW = T0 + 20 * DAY;
let db: Db;
let ctx: StatsContext;

function person(id: string, platform: 'wechat' | 'telegram', createdAt: number, platformId = id): void {
  db.prepare('INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, id, 'trial', createdAt, createdAt, createdAt);
  db.prepare('INSERT INTO identities (platform, platform_id, member_id, display_name) VALUES (?, ?, ?, ?)').run(platform, platformId, id, id);
}
const join = (id: string, group: string, at: number) => db.prepare('INSERT INTO memberships (member_id, group_id, joined_at) VALUES (?, ?, ?)').run(id, group, at);
function channel(id: string, platform: string, state: string, how: string, openedAt: number | null, source: string | null = null, chatId = id): void {
  db.prepare('INSERT INTO private_channels (platform, chat_id, member_id, state, how, opened_at, changed_at, announced_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    platform,
    chatId,
    id,
    state,
    how,
    openedAt,
    openedAt ?? T0,
    openedAt,
    source,
  );
}
function dmSent(id: string, platform: string, lesson: number | null, status = 'sent', chatId = id): void {
  db.prepare(
    "INSERT INTO outbox (platform, chat_kind, chat_id, member_id, text, priority, status, not_before, created_at, sent_at, lesson) VALUES (?, 'dm', ?, ?, 'x', 'reply', ?, ?, ?, ?, ?)",
  ).run(platform, chatId, id, status, T0, T0, status === 'sent' ? T0 + HOUR : null, lesson);
}
const ask = (id: string) =>
  db.prepare("INSERT INTO questions (member_id, platform, asker_platform_id, chat_id, text, status, created_at) VALUES (?, 'wechat', ?, 'room', '?', 'answered', ?)").run(id, id, T0 + DAY);
function pay(id: string): void {
  db.prepare(
    `INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, discounts, state, paid_amount, refunded_amount, created_at, expires_at, paid_at)
     VALUES (?, ?, ?, 'wechat', ?, 'python-bootcamp', 'CNY', 19900, 19900, '[]', 'paid', 19900, 0, ?, ?, ?)`,
  ).run(`o-${id}`, `t-${id}`, id, id, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 2 * DAY);
}
const held = (id: string, platform: string, state: string, at: number) =>
  db.prepare("INSERT INTO held_messages (platform, chat_id, member_id, text, priority, held_at, state, reason) VALUES (?, ?, ?, 'x', 'reply', ?, ?, 'r')").run(platform, id, id, at, state);

beforeAll(() => {
  db = openTestStore();
  ctx = { db, config: demoConfig(), now: NOW };
  // a: joined python-101 on WeChat, never added the account; 2 held messages expired, a drip waited and expired.
  person('a', 'wechat', T0);
  join('a', 'python-101', T0);
  channel('a', 'wechat', 'closed', 'not_friend', null);
  held('a', 'wechat', 'expired', T0);
  held('a', 'wechat', 'expired', T0 + DAY);
  db.prepare("INSERT INTO channel_waits (member_id, platform, sequence, created_at, state) VALUES ('a', 'wechat', 'trial', ?, 'expired')").run(T0);
  // b: joined, friend request accepted, lessons 1 and 2 delivered, asked, paid; 1 held message delivered.
  person('b', 'wechat', T0);
  join('b', 'python-101', T0);
  channel('b', 'wechat', 'open', 'friend_request', T0 + DAY);
  dmSent('b', 'wechat', 1);
  dmSent('b', 'wechat', 2);
  dmSent('b', 'wechat', null);
  ask('b');
  pay('b');
  held('b', 'wechat', 'delivered', T0);
  db.prepare("INSERT INTO channel_waits (member_id, platform, sequence, created_at, state) VALUES ('b', 'wechat', 'trial', ?, 'started')").run(T0);
  // c: joined, already a friend, lesson 1 delivered, paid without asking anything.
  person('c', 'wechat', T0 + HOUR);
  join('c', 'python-101', T0 + HOUR);
  channel('c', 'wechat', 'open', 'already_friend', T0 + HOUR);
  dmSent('c', 'wechat', 1);
  pay('c');
  // d: Telegram, joined python-vip, pressed Start from the xhs link; lesson 1 still queued (not delivered).
  person('d', 'telegram', T0 + 2 * HOUR, '5001');
  join('d', 'python-vip', T0 + 2 * HOUR);
  channel('d', 'telegram', 'open', 'start', T0 + 3 * HOUR, 'xhs', '5001');
  dmSent('d', 'telegram', 1, 'pending', '5001');
  // h: joined python-101, opened, then blocked the bot (it did open); one message dropped; asked.
  person('h', 'wechat', T0 + 3 * HOUR);
  join('h', 'python-101', T0 + 3 * HOUR);
  channel('h', 'wechat', 'blocked', 'blocked', T0 + 4 * HOUR);
  held('h', 'wechat', 'dropped', T0 + 5 * HOUR);
  ask('h');
  // Staff are not students: the teacher (config staff, wechat:teacher) and a granted assistant.
  person('t', 'wechat', T0, 'teacher');
  join('t', 'python-101', T0);
  channel('t', 'wechat', 'open', 'wrote_privately', T0, null, 'teacher');
  dmSent('t', 'wechat', 1, 'sent', 'teacher');
  person('s', 'wechat', T0);
  join('s', 'python-101', T0);
  db.prepare("INSERT INTO staff_grants (member_id, role, granted_by, granted_at) VALUES ('s', 'assistant', 't', ?)").run(T0);
  channel('s', 'wechat', 'open', 'already_friend', T0);
  held('s', 'wechat', 'expired', T0);
  // g: pressed Start without ever joining a group: not in the joined cohort.
  person('g', 'telegram', T0, '5002');
  channel('g', 'telegram', 'open', 'start', T0, 'xhs', '5002');
  // z: joined in the third week (outside a first-week range).
  person('z', 'wechat', T0 + 15 * DAY);
  join('z', 'python-101', T0 + 15 * DAY);
});

describe('the private channel funnel', () => {
  it('counts each step over the joined cohort, staff left out, and the conversion through every step so far', () => {
    const f = channelFunnel(ctx, { to: T0 + 7 * DAY });
    // joined: a b c d h (t, s staff; g never joined; z later) = 5.
    // opened: b c d h = 4. lesson delivered (sent): b c = 2 (d's is pending). asked: b h = 2. paid: b c = 2.
    // through: opened 4 (b c d h); + lesson: b c = 2; + asked: b = 1; + paid: b = 1.
    expect(f.steps.map((s) => [s.step, s.members, s.through])).toEqual([
      ['joined', 5, 5],
      ['channel_opened', 4, 4],
      ['lesson_delivered', 2, 2],
      ['first_question', 2, 1],
      ['paid', 2, 1],
    ]);
    expect(f.steps.map((s) => s.conversion)).toEqual([null, 4 / 5, 2 / 4, 1 / 2, 1 / 1]);
    expect(f.steps.map((s) => s.ofJoined)).toEqual([1, 4 / 5, 2 / 5, 2 / 5, 2 / 5]);
  });

  it('per platform: 加好友率 on WeChat, Start 率 on Telegram; by source; lessons by number; held messages by outcome', () => {
    const f = channelFunnel(ctx, { to: T0 + 7 * DAY });
    // WeChat: a b c h joined, b c h opened (3/4), lessons b c. Telegram: d joined and opened, no lesson sent.
    expect(f.platforms).toEqual([
      { platform: 'telegram', label: 'Telegram：Start 率', joined: 1, opened: 1, rate: 1, lesson: 0 },
      { platform: 'wechat', label: '微信：加好友率', joined: 4, opened: 3, rate: 3 / 4, lesson: 2 },
    ]);
    // Opened: b c h without a tag (b and c paid), d from xhs (not paid). g (xhs) never joined.
    expect(f.sources).toEqual([
      { source: '', opened: 3, paid: 2 },
      { source: 'xhs', opened: 1, paid: 0 },
    ]);
    expect(f.lessons).toEqual([
      { lesson: 1, members: 2 },
      { lesson: 2, members: 1 },
    ]);
    // Held in the first week by students: a 2 expired, b 1 delivered, h 1 dropped (s is staff).
    expect(f.held).toEqual({ waiting: 0, delivered: 1, expired: 2, dropped: 1, sequencesStarted: 1, sequencesExpired: 1, sequencesWaiting: 0 });
  });

  it('filters by group and by range', () => {
    const vip = channelFunnel(ctx, { group: 'python-vip' });
    expect(vip.steps.map((s) => s.members)).toEqual([1, 1, 0, 0, 0]);
    expect(vip.held).toEqual({ waiting: 0, delivered: 0, expired: 0, dropped: 0, sequencesStarted: 0, sequencesExpired: 0, sequencesWaiting: 0 });
    const all = channelFunnel(ctx);
    expect(all.steps[0]!.members).toBe(6); // z too
    const later = channelFunnel(ctx, parseFilter({ from: '2026-03-16' }, ctx.config));
    expect(later.steps.map((s) => s.members)).toEqual([1, 0, 0, 0, 0]);
  });

  it('is on the dashboard and in kequn stats as tables, with the same figures', () => {
    const d = dashboard(ctx, { to: T0 + 7 * DAY });
    expect(d.channel).toEqual(channelFunnel(ctx, { to: T0 + 7 * DAY }));
    const tables = dashboardTables(d);
    const funnel = tables.find((t) => t.id === 'channel-funnel')!;
    expect(funnel.rows).toEqual([
      ['入群', 5, 100, 5, null],
      ['私信渠道打开（加好友 / Start）', 4, 80, 4, 80],
      ['试听课已私信送达', 2, 40, 2, 50],
      ['首次提问', 2, 40, 1, 50],
      ['付费', 2, 40, 1, 100],
    ]);
    expect(tables.find((t) => t.id === 'channel-platforms')!.rows).toEqual([
      ['Telegram：Start 率', 1, 1, 100, 0],
      ['微信：加好友率', 4, 3, 75, 2],
    ]);
    expect(toText(tables.find((t) => t.id === 'channel-held')!)).toMatch(/过期（渠道一直没打开）\s+2/);
    // English as the course's option: the same figures, other words.
    const en = dashboardTables(dashboard({ ...ctx, config: { ...ctx.config, course: { ...ctx.config.course, locale: 'en' } } }, { to: T0 + 7 * DAY }));
    expect(toText(en.find((t) => t.id === 'channel-held')!)).toMatch(/expired \(never opened\)\s+2/);
    expect(en.find((t) => t.id === 'channel-funnel')!.rows.map((r) => r.slice(1))).toEqual(funnel.rows.map((r) => r.slice(1)));
  });
});
