import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import type { CourseConfig } from '../../src/config/load.js';
import type { Db } from '../../src/store/db.js';
import { joinChannels } from '../../src/flows/dashboard/join-channels.js';
import { pickGroup } from '../../src/flows/join/pick.js';
import { notePoolState } from '../../src/flows/join/notify.js';
import {
  attribute,
  attributionOf,
  countGroupMembers,
  currentQr,
  insertQr,
  insertQrImage,
  insertView,
  joinForget,
  joinLink,
  linkByUrl,
  markViewMatched,
  qrImageBase64,
  qrsToRemind,
  saveJoinLink,
  viewToMatch,
} from '../../src/flows/join/store.js';
import { DAY, HOUR, MINUTE, T0 } from '../helpers/fixtures.js';
import { qrDataUrl } from '../../src/flows/join/files.js';
import { joinCourse } from '../helpers/join.js';
import { openTestStore } from '../helpers/store.js';

// The join page's store on the backend the tests run on (SQLite, or PostgreSQL with
// KEQUN_TEST_STORE=postgres: npm run test:postgres).
let db: Db;
let config: CourseConfig;
beforeEach(() => {
  db = openTestStore();
  config = loadConfig(joinCourse(), { env: {} });
});
afterEach(() => db.close());

function member(id: string, opts: { group?: string; left?: boolean; wechat?: string } = {}): void {
  db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, ?, 'trial', ?, ?, ?)").run(id, id, T0, T0, T0);
  if (opts.wechat) db.prepare("INSERT INTO identities (platform, platform_id, member_id, display_name) VALUES ('wechat', ?, ?, ?)").run(opts.wechat, id, id);
  if (opts.group) db.prepare('INSERT INTO memberships (member_id, group_id, joined_at, left_at, inviter_id, join_count) VALUES (?, ?, ?, ?, NULL, 1)').run(id, opts.group, T0, opts.left ? T0 + 1 : null);
}

function paid(id: string, memberId: string, fen: number, refunded = 0): void {
  db.prepare(
    `INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, state, paid_amount, refunded_amount, paid_at, created_at, expires_at)
     VALUES (?, ?, ?, 'wechat', ?, 'python-vip', 'CNY', ?, ?, 'paid', ?, ?, ?, ?, ?)`,
  ).run(id, `tok-${id}`, memberId, memberId, fen, fen, fen, refunded, T0 + HOUR, T0, T0 + DAY);
}

describe('join store', () => {
  it('counts current members of a group (a leave takes them off)', () => {
    member('a', { group: 'python-101' });
    member('b', { group: 'python-101' });
    member('c', { group: 'python-101', left: true });
    member('d', { group: 'python-102' });
    expect(countGroupMembers(db, 'python-101')).toBe(2);
    expect(countGroupMembers(db, 'python-102')).toBe(1);
    expect(countGroupMembers(db, 'python-vip')).toBe(0);
  });

  it('never returns an expired QR code, and reminds once of the newest only', () => {
    insertQr(db, { groupId: 'python-101', kind: 'upload', file: 'a.png', mime: 'image/png', now: T0, expiresAt: T0 + 2 * DAY, createdBy: null });
    expect(currentQr(db, 'python-101', T0 + 2 * DAY - 1)?.file).toBe('a.png');
    expect(currentQr(db, 'python-101', T0 + 2 * DAY)).toBeUndefined();
    expect(qrsToRemind(db, T0 + 2 * DAY + HOUR, T0 + DAY + HOUR).map((q) => q.file)).toEqual(['a.png']);
    // A newer code for the group: the old one is not reminded of.
    insertQr(db, { groupId: 'python-101', kind: 'upload', file: 'b.png', mime: 'image/png', now: T0 + DAY, expiresAt: T0 + 8 * DAY, createdBy: null });
    expect(qrsToRemind(db, T0 + 2 * DAY + HOUR, T0 + DAY + HOUR)).toEqual([]);
    expect(currentQr(db, 'python-101', T0 + DAY)?.file).toBe('b.png');
  });

  it('matches a WeChat join to the earliest unmatched view of that group with a channel, within the window', () => {
    insertView(db, { pool: 'python-trial', groupId: 'python-101', channel: '', client: 'c0', now: T0 });
    insertView(db, { pool: 'python-trial', groupId: 'python-101', channel: 'xhs', client: 'c1', now: T0 + MINUTE });
    insertView(db, { pool: 'python-trial', groupId: 'python-101', channel: 'gzh', client: 'c2', now: T0 + 2 * MINUTE });
    insertView(db, { pool: 'python-trial', groupId: 'python-102', channel: 'gzh', client: 'c3', now: T0 + 2 * MINUTE });
    const first = viewToMatch(db, 'python-101', T0 + 3 * MINUTE - 10 * MINUTE, T0 + 3 * MINUTE)!;
    expect(first.channel).toBe('xhs');
    markViewMatched(db, first.id, 'm1');
    expect(viewToMatch(db, 'python-101', T0 + 3 * MINUTE - 10 * MINUTE, T0 + 3 * MINUTE)!.channel).toBe('gzh');
    // Outside the window: nothing.
    expect(viewToMatch(db, 'python-101', T0 + 2 * MINUTE + 1, T0 + 20 * MINUTE)).toBeUndefined();
  });

  it('credits a member once (the first channel stands), and forgets it', () => {
    member('m1');
    expect(attribute(db, { memberId: 'm1', channel: 'xhs', groupId: 'python-101', how: 'page_view', viewId: 1, now: T0 })).toBe(true);
    expect(attribute(db, { memberId: 'm1', channel: 'gzh', groupId: 'python-101', how: 'invite_link', viewId: null, now: T0 + 1 })).toBe(false);
    expect(attributionOf(db, 'm1')).toEqual({ channel: 'xhs', how: 'page_view', group_id: 'python-101' });
    joinForget(db, 'm1');
    expect(attributionOf(db, 'm1')).toBeUndefined();
  });

  it('keeps one Telegram link per group and channel, found by its URL', () => {
    saveJoinLink(db, { platform: 'telegram', groupId: 'python-101', channel: 'xhs', url: 'https://t.me/+a', now: T0 });
    saveJoinLink(db, { platform: 'telegram', groupId: 'python-101', channel: 'xhs', url: 'https://t.me/+b', now: T0 + 1 });
    expect(joinLink(db, 'telegram', 'python-101', 'xhs')).toBe('https://t.me/+b');
    expect(linkByUrl(db, 'telegram', 'https://t.me/+b')).toEqual({ group_id: 'python-101', channel: 'xhs' });
    expect(linkByUrl(db, 'telegram', 'https://t.me/+a')).toBeUndefined();
  });

  it('picks the first group with room and a valid code; tells staff once per crossing', () => {
    const pool = config.join.pools['python-trial']!; // capacity 3 each, low at 2
    insertQr(db, { groupId: 'python-101', kind: 'puppet', qrText: 'one', now: T0, expiresAt: T0 + DAY, createdBy: null });
    insertQr(db, { groupId: 'python-102', kind: 'puppet', qrText: 'two', now: T0, expiresAt: T0 + 7 * DAY, createdBy: null });
    for (const id of ['a', 'b', 'c']) member(id, { group: 'python-101' });
    let p = pickGroup(db, config, pool, '', T0);
    expect(p.choice).toMatchObject({ kind: 'qr', group: 'python-102' });
    expect([p.state, p.free]).toEqual(['ok', 3]);
    member('d', { group: 'python-102' });
    p = pickGroup(db, config, pool, '', T0);
    expect([p.state, p.free]).toEqual(['low', 2]);
    const told = () => (db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE text LIKE '【群活码】%'").get() as { n: number }).n;
    expect(notePoolState(db, config, pool, p, T0)).toBe(true);
    expect(notePoolState(db, config, pool, p, T0)).toBe(false);
    // Two staff (owner and instructor) told once each.
    expect(told()).toBe(2);
    for (const id of ['e', 'f']) member(id, { group: 'python-102' });
    p = pickGroup(db, config, pool, '', T0);
    expect(p.choice).toEqual({ kind: 'full' });
    expect(notePoolState(db, config, pool, p, T0)).toBe(true);
    expect(told()).toBe(4);
    // 101's code expired and someone left it: room there, but no valid code.
    db.prepare("UPDATE memberships SET left_at = ? WHERE member_id = 'a'").run(T0 + DAY);
    p = pickGroup(db, config, pool, '', T0 + DAY);
    expect(p.choice).toEqual({ kind: 'updating' });
    expect(p.state).toBe('no_qr');
  });

  it('the dashboard counts channels by hand: joined in the range, paid since, net revenue, staff left out, group filter', () => {
    // xhs: m1 paid 199 (refunded 50), m2 unpaid; gzh: m3 paid 99; the instructor credited to xhs is staff.
    member('m1', { wechat: 'w1' });
    member('m2', { wechat: 'w2' });
    member('m3', { wechat: 'w3' });
    member('staff', { wechat: 'teacher' });
    attribute(db, { memberId: 'm1', channel: 'xhs', groupId: 'python-101', how: 'page_view', viewId: null, now: T0 });
    attribute(db, { memberId: 'm2', channel: 'xhs', groupId: 'python-102', how: 'page_view', viewId: null, now: T0 + HOUR });
    attribute(db, { memberId: 'm3', channel: 'gzh', groupId: 'python-101', how: 'page_view', viewId: null, now: T0 + 2 * HOUR });
    attribute(db, { memberId: 'staff', channel: 'xhs', groupId: 'python-101', how: 'page_view', viewId: null, now: T0 });
    paid('o1', 'm1', 19900, 5000);
    paid('o2', 'm3', 9900);
    insertView(db, { pool: 'python-trial', groupId: 'python-101', channel: 'xhs', client: 'c1', now: T0 });
    insertView(db, { pool: 'python-trial', groupId: 'python-102', channel: 'xhs', client: 'c2', now: T0 });
    insertView(db, { pool: 'python-trial', groupId: 'python-101', channel: '', client: 'c3', now: T0 });
    const ctx = { db, config, now: T0 + DAY };
    expect(joinChannels(ctx)).toEqual([
      { channel: 'gzh', name: '公众号', views: 0, joined: 1, paid: 1, conversion: 1, revenue: 99, spend: null, roi: null },
      // 149 net against 100 spent: (149 − 100) / 100.
      { channel: 'xhs', name: '小红书', views: 2, joined: 2, paid: 1, conversion: 0.5, revenue: 149, spend: 100, roi: 0.49 },
    ]);
    // Only python-102's: m2 (xhs, unpaid) and one view.
    expect(joinChannels(ctx, { group: 'python-102' }).map((r) => [r.channel, r.views, r.joined, r.paid, r.revenue])).toEqual([
      ['gzh', 0, 0, 0, 0],
      ['xhs', 1, 1, 0, 0],
    ]);
    // A range that holds only m3's join.
    expect(joinChannels(ctx, { from: T0 + 90 * MINUTE }).map((r) => [r.channel, r.joined])).toEqual([
      ['gzh', 1],
      ['xhs', 0],
    ]);
  });

  it('an uploaded QR image is kept in the store, bytes exactly, capped at 1 MB; the page reads it from there (every instance serves it)', async () => {
    const png = await QRCode.toBuffer('https://weixin.qq.com/g/store', { width: 200 });
    const id = insertQr(db, { groupId: 'python-101', kind: 'upload', mime: 'image/png', now: T0, expiresAt: T0 + 2 * DAY, createdBy: null });
    insertQrImage(db, id, png);
    expect(Buffer.from(qrImageBase64(db, id)!, 'base64').equals(png)).toBe(true);
    expect(await qrDataUrl(db, config, currentQr(db, 'python-101', T0)!)).toBe(`data:image/png;base64,${png.toString('base64')}`);
    // A second write for the row changes nothing; an image over 1 MB is refused by the store itself.
    insertQrImage(db, id, new Uint8Array(100));
    expect(Buffer.from(qrImageBase64(db, id)!, 'base64').equals(png)).toBe(true);
    const big = insertQr(db, { groupId: 'python-102', kind: 'upload', mime: 'image/png', now: T0, expiresAt: T0 + 2 * DAY, createdBy: null });
    expect(() => insertQrImage(db, big, new Uint8Array(1024 * 1024 + 1))).toThrow();
    expect(qrImageBase64(db, big)).toBeUndefined();
  });

  it('an upload from before (a file under join.qr_dir) is read once and moved into the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-join-qr-'));
    try {
      const png = await QRCode.toBuffer('https://weixin.qq.com/g/legacy', { width: 200 });
      const file = `python-101-${T0}-0a1b2c3d.png`;
      writeFileSync(join(dir, file), png);
      const withDir = { ...config, join: { ...config.join, qrDir: dir } };
      const id = insertQr(db, { groupId: 'python-101', kind: 'upload', file, mime: 'image/png', now: T0, expiresAt: T0 + 2 * DAY, createdBy: null });
      expect(qrImageBase64(db, id)).toBeUndefined();
      expect(await qrDataUrl(db, withDir, currentQr(db, 'python-101', T0)!)).toBe(`data:image/png;base64,${png.toString('base64')}`);
      // Now in the store: the file is no longer needed.
      expect(Buffer.from(qrImageBase64(db, id)!, 'base64').equals(png)).toBe(true);
      // A row naming a file that is not there, or not a name the upload made, is not served.
      const gone = insertQr(db, { groupId: 'python-102', kind: 'upload', file: `python-102-${T0}-0a1b2c3e.png`, mime: 'image/png', now: T0, expiresAt: T0 + 2 * DAY, createdBy: null });
      expect(await qrDataUrl(db, withDir, currentQr(db, 'python-102', T0)!)).toBeUndefined();
      db.prepare('UPDATE join_qr SET file = ? WHERE id = ?').run('../../etc/passwd', gone);
      expect(await qrDataUrl(db, withDir, currentQr(db, 'python-102', T0)!)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
