/**
 * Referral posters over the real wires: WeChat through Wechaty's mock puppet (the image arrives as
 * a file message), Telegram through grammY to the fake Bot API on 127.0.0.1 (a multipart
 * sendPhoto upload); the QR code in the bytes that arrived reads back as the member's link.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { renderPoster } from '../../src/flows/posters/render.js';
import { insertCode } from '../../src/flows/referral/store.js';
import { enqueueMessage } from '../../src/store/outbox.js';
import { silentLogger } from '../../src/log.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { DEMO_CONFIG_DIR, removeTempDirs, replaceOnce, T0, tempConfig } from '../helpers/fixtures.js';
import { GROUP, startRig, telegramConfig } from '../helpers/telegram.js';

const ROOM = 'python-101@chatroom';
const dirs: string[] = [];

afterAll(() => {
  removeTempDirs();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-posters-'));
  dirs.push(dir);
  return join(dir, 'kequn.db');
}

function scan(png: Buffer): string | undefined {
  const img = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height)?.data;
}

let dbPath = '';

async function wechatApp(configDir: string, clock: VirtualClock): Promise<App> {
  dbPath = tempDb();
  const app = await createApp({ config: loadConfig(configDir, { env: {} }), clock, log: silentLogger, live: false, dbPath });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  return app;
}

/** Lets the kernel handle what was said, draw, and send (virtual time). */
async function settle(app: App, clock: VirtualClock, handled: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !handled(); i++) await new Promise((r) => setTimeout(r, 10));
  await app.kernel.runUntil(clock.now() + 60_000, { settleOnly: true });
}

function giveCode(app: App, platform: string, platformId: string, code: string, now: number): void {
  const m = findMemberByIdentity(app.db, platform, platformId)!;
  expect(insertCode(app.db, { code, memberId: m.id, kind: 'custom', now })).toBe(true);
}

/**
 * A WeChat member joins the course group and is given a referral code; returns how many events
 * the kernel has handled so far (the join is the first), for settle().
 */
async function joinedWithCode(app: App, clock: VirtualClock, user: string, name: string, code: string, opts: { stranger?: boolean } = {}): Promise<() => number> {
  let events = 0;
  app.kernel.on('handled', () => events++);
  app.sim!.user(user, name, opts.stranger ? { stranger: true } : undefined);
  app.sim!.join(user, ROOM);
  await settle(app, clock, () => events >= 1);
  giveCode(app, 'wechat', user, code, clock.now());
  return () => events;
}

describe('posters on WeChat (Wechaty, mock puppet)', () => {
  it('「我的海报」 in the group: the caption and the poster arrive privately, an image whose QR holds the code', async () => {
    const clock = new VirtualClock(T0);
    const app = await wechatApp(DEMO_CONFIG_DIR, clock);
    try {
      const events = await joinedWithCode(app, clock, 'gina', 'Gina', 'GINA88');
      const before = app.sim!.sent.length;
      app.sim!.say('gina', { roomId: ROOM }, '我的海报');
      await settle(app, clock, () => events() >= 2);
      const got = app.sim!.sent.slice(before).filter((s) => s.chatId === 'gina');
      expect(got.map((s) => (s.image ? 'image' : s.text.slice(0, 8)))).toEqual(['这是你的专属海报', 'image']);
      expect(got[1]!.image).toMatchObject({ mediaType: 'image/png' });
      expect(app.sim!.sent.slice(before).filter((s) => s.chatKind === 'group')).toEqual([]);
      const files = [...app.sim!.mocker.cacheFileBoxPayload.values()].map((j) => Buffer.from((j as { base64: string }).base64, 'base64'));
      expect(files).toHaveLength(1);
      expect(files[0]!.length).toBe(got[1]!.image!.bytes);
      expect(scan(files[0]!)).toBe('推荐码 GINA88');
      const row = app.db.prepare("SELECT status, text, image FROM outbox WHERE image IS NOT NULL").all() as { status: string; text: string; image: string }[];
      expect(row).toHaveLength(1);
      expect(row[0]).toMatchObject({ status: 'sent', text: '' });
      // Beside the store the bot runs on (this test's temp SQLite file), not the course's `data:`.
      expect(dirname(row[0]!.image)).toBe(join(dirname(dbPath), 'posters'));
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('a member who is not yet a friend: the poster waits with its image and arrives once the friendship opens', async () => {
    const clock = new VirtualClock(T0);
    const app = await wechatApp(DEMO_CONFIG_DIR, clock);
    try {
      const events = await joinedWithCode(app, clock, 'sam', 'Sam', 'SAM888', { stranger: true });
      app.sim!.say('sam', { roomId: ROOM }, '我的海报');
      await settle(app, clock, () => events() >= 2);
      expect(app.sim!.sent.filter((s) => s.chatId === 'sam')).toEqual([]);
      const held = app.db.prepare("SELECT state, image FROM held_messages WHERE chat_id = 'sam' AND image IS NOT NULL").all() as { state: string; image: string }[];
      expect(held).toHaveLength(1);
      expect(held[0]!.state).toBe('held');
      // The greeting the demo's policy accepts; the account accepts, paced, and the channel opens.
      app.sim!.befriend('sam', '试听');
      await app.kernel.runUntil(clock.now() + 30 * 60_000);
      const images = app.sim!.sent.filter((s) => s.chatId === 'sam' && s.image);
      expect(images).toHaveLength(1);
      const file = [...app.sim!.mocker.cacheFileBoxPayload.values()].map((j) => Buffer.from((j as { base64: string }).base64, 'base64'));
      expect(scan(file[0]!)).toBe('推荐码 SAM888');
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('in a dry-run course the poster is drawn and recorded, not sent', async () => {
    const clock = new VirtualClock(T0);
    const app = await wechatApp(tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'dry_run: false', 'dry_run: true') }), clock);
    try {
      const events = await joinedWithCode(app, clock, 'gina', 'Gina', 'GINA88');
      app.sim!.say('gina', 'bot', '/海报');
      await settle(app, clock, () => events() >= 2);
      expect(app.sim!.sent.filter((s) => s.image)).toEqual([]);
      expect(app.db.prepare('SELECT status FROM outbox WHERE image IS NOT NULL').all()).toEqual([{ status: 'dry_run' }]);
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('an image with a caption (any outbox row): the file, then the caption as its own message, WeChat having no captions', async () => {
    const clock = new VirtualClock(T0);
    const app = await wechatApp(DEMO_CONFIG_DIR, clock);
    try {
      app.sim!.user('gina', 'Gina');
      const png = join(dirname(dbPath), 'x.png');
      writeFileSync(png, await renderPoster({ title: 't', tagline: '', lines: [], code: 'GINA88', link: 'https://example.com/g', footer: '' }, { layout: 'card', background: '#123456', color: '#ffffff', accent: '#ffffff' }));
      enqueueMessage(app.db, { platform: 'wechat', chatKind: 'dm', chatId: 'gina', memberId: null, groupId: null, text: '看看这张图', image: png, priority: 'reply', notBefore: clock.now(), eventId: null, ruleId: 'test', dryRun: false, now: clock.now(), budget: null });
      await app.kernel.runUntil(clock.now() + 60_000, { settleOnly: true });
      expect(app.sim!.sent.filter((s) => s.chatId === 'gina').map((s) => (s.image ? `image ${s.image.bytes}` : s.text))).toEqual([`image ${readFileSync(png).length}`, '看看这张图']);
    } finally {
      await app.stop();
    }
  }, 60_000);
});

describe('posters on Telegram (grammY, fake Bot API)', () => {
  it('/poster: sendPhoto uploads the PNG; its QR holds the bot\'s link that carries the code', async () => {
    const api = await FakeBotApi.start();
    const rig = await startRig({ api, config: telegramConfig(), dbPath: tempDb() });
    try {
      const alice = api.person(1001, 'Alice');
      rig.startedBefore(1001);
      api.memberChange({ chat: api.group(GROUP.id, GROUP.title), user: alice, joined: true });
      await rig.settle(1);
      giveCode(rig.app, 'telegram', '1001', 'AMY888', rig.clock.now());
      api.say({ user: alice, text: '/poster' });
      await rig.settle(2);
      expect(api.photos).toHaveLength(1);
      const photo = api.photos[0]!;
      expect(photo.chatId).toBe('1001');
      expect(photo.caption).toBe('');
      expect(scan(photo.bytes)).toBe(`https://t.me/${api.me.username}?start=ref-AMY888`);
      expect(rig.sentTo(1001).at(-1)).toContain('这是你的专属海报');
    } finally {
      await rig.app.stop();
      await api.close();
    }
  }, 60_000);
  it('an image with a caption goes as the photo\'s caption; one over 1024 characters follows as text', async () => {
    const api = await FakeBotApi.start();
    const rig = await startRig({ api, config: telegramConfig(), dbPath: tempDb() });
    try {
      rig.startedBefore(1001);
      const png = join(dirs.at(-1)!, 'x.png');
      writeFileSync(png, await renderPoster({ title: 't', tagline: '', lines: [], code: 'AMY888', link: 'https://example.com/a', footer: '' }, { layout: 'card', background: '#123456', color: '#ffffff', accent: '#ffffff' }));
      const now = rig.clock.now();
      const row = (text: string) => enqueueMessage(rig.app.db, { platform: 'telegram', chatKind: 'dm', chatId: '1001', memberId: null, groupId: null, text, image: png, priority: 'reply', notBefore: now, eventId: null, ruleId: 'test', dryRun: false, now, budget: null });
      row('看看这张图');
      row('长'.repeat(1025));
      await rig.app.kernel.runUntil(now + 60_000, { settleOnly: true });
      expect(api.photos.map((p) => [p.caption, p.bytes.length])).toEqual([['看看这张图', readFileSync(png).length], ['', readFileSync(png).length]]);
      expect(rig.sentTo(1001)).toEqual(['长'.repeat(1025)]);
    } finally {
      await rig.app.stop();
      await api.close();
    }
  }, 60_000);
});
