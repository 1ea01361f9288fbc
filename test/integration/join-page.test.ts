import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { dashboard } from '../../src/flows/dashboard/metrics.js';
import { dashboardTables } from '../../src/flows/dashboard/tables.js';
import { remindExpiring } from '../../src/flows/join/worker.js';
import { silentLogger } from '../../src/log.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { DAY, HOUR, MINUTE, T0, tempConfig } from '../helpers/fixtures.js';
import { joinCourse, tempRoomQr } from '../helpers/join.js';
import { waitFor } from '../helpers/grpc-port.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const TOKEN = 'join-page-admin-token-0123456789';
const R101 = 'python-101@chatroom';
const R102 = 'python-102@chatroom';

interface Running {
  app: App;
  clock: VirtualClock;
  server: WebServer;
  handled: ChatEvent[];
}

async function start(configDir: string): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-join-'));
  dirs.push(dir);
  const dbPath = join(dir, 'kequn.db');
  const clock = new VirtualClock(T0);
  const app = await createApp({ config: loadConfig(configDir, { env: { KEQUN_DATA: dbPath } }), clock, log: silentLogger, live: false, dbPath, env: {} });
  const handled: ChatEvent[] = [];
  app.kernel.on('handled', (event) => handled.push(event));
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: TOKEN } }), { host: '127.0.0.1', port: 0 });
  return { app, clock, server, handled };
}

async function stop(r: Running): Promise<void> {
  await r.server.close();
  await r.app.stop();
}

async function page(r: Running, path: string, ip?: string): Promise<{ status: number; html: string }> {
  const res = await fetch(`${r.server.url}${path}`, { headers: ip ? { 'x-forwarded-for': ip } : {} });
  return { status: res.status, html: await res.text() };
}

async function upload(r: Running, group: string, bytes: Uint8Array, expires: string, auth = true): Promise<{ status: number; html: string }> {
  const form = new FormData();
  form.set('image', new Blob([Uint8Array.from(bytes)], { type: 'image/png' }), 'qr.png');
  form.set('expires', expires);
  const res = await fetch(`${r.server.url}/join-admin/qr/${group}`, { method: 'POST', body: form, headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} });
  return { status: res.status, html: await res.text() };
}

async function joins(r: Running, user: string, room: string): Promise<void> {
  const before = r.handled.length;
  r.app.sim!.user(user, user);
  r.app.sim!.join(user, room);
  await waitFor(() => r.handled.slice(before).some((e) => e.type === 'member.joined'), `${user} joined`);
  await r.app.kernel.runUntil(r.clock.now() + MINUTE, { settleOnly: true });
}

/** What staff were told privately (sent, queued or held for their private channel). */
function staffTold(r: Running, who = 'principal'): string[] {
  const out = r.app.db.prepare("SELECT text FROM outbox WHERE chat_kind = 'dm' AND chat_id = ? ORDER BY id").all(who) as { text: string }[];
  const held = r.app.db.prepare('SELECT text FROM held_messages WHERE chat_id = ? ORDER BY id').all(who) as { text: string }[];
  return [...out, ...held].map((x) => x.text).filter((t) => t.startsWith('【群活码】'));
}

const qrPng = (text: string) => QRCode.toBuffer(text, { width: 200 });

describe('the join page (群活码) over HTTP on 127.0.0.1', () => {
  it('hands out the first group with room, moves to the next when it is full, never serves an expired QR, and tells staff once per crossing', async () => {
    const r = await start(joinCourse());
    try {
      // No QR yet: the page says the group is being updated; staff are told once, not per view.
      let p = await page(r, '/join/python-trial');
      expect(p.status).toBe(503);
      expect(p.html).toContain('群正在更新');
      await page(r, '/join/python-trial');
      expect(staffTold(r)).toHaveLength(1);
      expect(staffTold(r)[0]).toContain('没有有效的群二维码');
      expect(staffTold(r, 'teacher')).toHaveLength(1);
      // The assistant is not told (owners and instructors are).
      expect(staffTold(r, 'assistant-li')).toHaveLength(0);

      // Upload needs the admin login; a wrong file type or a past date stores nothing.
      expect((await upload(r, 'python-101', await qrPng('https://weixin.qq.com/g/one'), '2026-03-09', false)).status).toBe(401);
      expect((await upload(r, 'python-101', new TextEncoder().encode('<svg></svg>'.repeat(20)), '2026-03-09')).status).toBe(415);
      expect((await upload(r, 'python-101', await qrPng('https://weixin.qq.com/g/one'), '2026-03-01')).status).toBe(400);
      expect((await upload(r, 'python-101', await qrPng('https://weixin.qq.com/g/one'), '2026-03-20')).status).toBe(400);
      expect((await upload(r, 'python-vip', await qrPng('https://weixin.qq.com/g/vip'), '2026-03-09')).status).toBe(404);
      expect(r.app.db.prepare('SELECT COUNT(*) AS n FROM join_qr').get()).toEqual({ n: 0 });

      // 101's code until 9 March 00:00, 102's until 4 March 00:00 (it was saved earlier).
      const up = await upload(r, 'python-101', await qrPng('https://weixin.qq.com/g/one'), '2026-03-09');
      expect(up.status).toBe(200);
      expect(up.html).toContain('有效至 2026-03-09 00:00');
      expect((await upload(r, 'python-102', await qrPng('https://weixin.qq.com/g/two'), '2026-03-04')).status).toBe(200);
      // Kept in the store (every instance serves them), not on this machine's disk.
      expect(r.app.db.prepare('SELECT COUNT(*) AS n FROM join_qr_images').get()).toEqual({ n: 2 });
      expect(existsSync(join(r.app.config.dataPath, '..', 'join-qr'))).toBe(false);

      p = await page(r, '/join/python-trial');
      expect(p.status).toBe(200);
      expect(p.html).toContain('加入「Python 入门体验群」');
      expect(p.html).toContain('src="data:image/png;base64,');
      expect(p.html).toContain('二维码有效至 2026-03-09 00:00');

      // Three members join 101 (capacity 3): the page moves to 102.
      for (const u of ['amy', 'bob', 'cat']) await joins(r, u, R101);
      p = await page(r, '/join/python-trial');
      expect(p.status).toBe(200);
      expect(p.html).toContain('加入「Python 入门体验2群」');
      // 3 free places of 6 left: above low_at (2), no low notice yet.
      expect(staffTold(r).filter((t) => t.includes('快满了'))).toHaveLength(0);
      await joins(r, 'dan', R102);
      // 2 free: low, told once (and not again on the next views).
      await page(r, '/join/python-trial');
      await page(r, '/join/python-trial');
      const low = staffTold(r).filter((t) => t.includes('快满了'));
      expect(low).toHaveLength(1);
      expect(low[0]).toContain('还剩 2 个位置（Python 入门体验群 3/3，Python 入门体验2群 1/3）');

      // A day before 102's code expires, staff are reminded once.
      r.clock.set(Date.parse('2026-03-03T00:30:00+08:00'));
      expect(remindExpiring(r.app.db, r.app.config, r.clock.now())).toBe(1);
      expect(remindExpiring(r.app.db, r.app.config, r.clock.now())).toBe(0);
      expect(staffTold(r).filter((t) => t.includes('将在 2026-03-04 00:00 过期'))).toHaveLength(1);

      // After it expired the page never shows it: 101 is full, so the group is "being updated".
      r.clock.set(Date.parse('2026-03-04T00:00:00+08:00'));
      p = await page(r, '/join/python-trial');
      expect(p.status).toBe(503);
      expect(p.html).toContain('群正在更新');
      expect(p.html).not.toContain('data:image');
      expect(staffTold(r).filter((t) => t.includes('没有有效的群二维码'))).toHaveLength(2);

      // A member leaving 101 makes room there again: its code (still valid) is served.
      r.app.sim!.leave('amy', R101);
      await waitFor(() => r.handled.some((e) => e.type === 'member.left'), 'amy left');
      p = await page(r, '/join/python-trial');
      expect(p.status).toBe(200);
      expect(p.html).toContain('加入「Python 入门体验群」');
    } finally {
      await stop(r);
    }
  });

  it("where the puppet gives the room's QR code (Wechaty room.qrCode(); the mock puppet does), kequn serves that, renewed before it expires", async () => {
    const r = await start(tempRoomQr());
    try {
      // The worker asks the puppet on its next pass (runUntil runs the workers).
      await r.app.kernel.runUntil(r.clock.now() + MINUTE, { settleOnly: true });
      const rows = r.app.db.prepare("SELECT group_id, kind, qr_text, expires_at FROM join_qr ORDER BY group_id").all() as { group_id: string; kind: string; qr_text: string; expires_at: number }[];
      expect(rows.map((q) => [q.group_id, q.kind, q.qr_text])).toEqual([
        ['python-101', 'puppet', `${R101} mock qrcode`],
        ['python-102', 'puppet', `${R102} mock qrcode`],
      ]);
      expect(rows[0]!.expires_at).toBe(T0 + 7 * DAY);
      const p = await page(r, '/join/python-trial');
      expect(p.status).toBe(200);
      expect(p.html).toContain('加入「Python 入门体验群」');
      expect(p.html).toContain('src="data:image/png;base64,');
    } finally {
      await stop(r);
    }
  });

  it('a course that never uses the join page hears nothing of it; a trial group\'s own page asks the puppet once opened', async () => {
    const r = await start(tempConfig());
    try {
      await joins(r, 'amy', R101);
      await r.app.kernel.runUntil(r.clock.now() + 5 * MINUTE, { settleOnly: true });
      expect(staffTold(r)).toEqual([]);
      expect(r.app.db.prepare('SELECT COUNT(*) AS n FROM join_qr').get()).toEqual({ n: 0 });
      // Opened: no code yet (staff told once), then the puppet's on the worker's next pass.
      expect((await page(r, '/join/python-101')).html).toContain('群正在更新');
      expect(staffTold(r)).toHaveLength(1);
      r.clock.set(r.clock.now() + 2 * MINUTE);
      await r.app.kernel.runUntil(r.clock.now() + MINUTE, { settleOnly: true });
      const p = await page(r, '/join/python-101');
      expect(p.status).toBe(200);
      expect(p.html).toContain('加入「Python 入门体验群」');
    } finally {
      await stop(r);
    }
  });

  it('unknown pools and channels get a clear Chinese page and record nothing; a client over the limit is refused', async () => {
    const r = await start(joinCourse('  views_per_minute: 6\n'));
    try {
      for (const path of ['/join/nope', '/join/python-vip', '/join/python-trial?c=tiktok', '/join/PYTHON-trial', '/join/__proto__?c=constructor', '/join/python-trial?c=__proto__']) {
        const p = await page(r, path, '10.0.0.1');
        expect(p.status, path).toBe(404);
        expect(p.html, path).toContain('没有找到这个入群链接');
      }
      expect(r.app.db.prepare('SELECT COUNT(*) AS n FROM join_views').get()).toEqual({ n: 0 });
      // Past the per-minute limit (6) even good requests get 429 and record nothing.
      const p = await page(r, '/join/python-trial', '10.0.0.1');
      expect(p.status).toBe(429);
      expect(p.html).toContain('访问太频繁');
    } finally {
      await stop(r);
    }
  });

  it('is served under the public host name (deploy/Caddyfile publishes /join/*), its admin is not', async () => {
    const r = await start(joinCourse());
    try {
      const get = (path: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          httpRequest(`${r.server.url}${path}`, { headers: { host: 'kequn.example.com' } }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          })
            .on('error', reject)
            .end();
        });
      // The join page itself answers (no QR uploaded yet: its Chinese "no group right now" page), not the host check's 403.
      const p = await get('/join/python-trial');
      expect(p.status).toBe(503);
      expect(p.text).toContain('<html lang="zh-CN">');
      expect((await get('/join/nope')).text).toContain('没有找到这个入群链接');
      expect((await get('/join-assets/join.css')).status).toBe(200);
      expect((await get('/join-admin')).status).toBe(403);
    } finally {
      await stop(r);
    }
  });

  it('a channel is counted on the dashboard: views, joined, paid, conversion, revenue and ROI, staff left out', async () => {
    const r = await start(joinCourse());
    try {
      await upload(r, 'python-101', await qrPng('https://weixin.qq.com/g/one'), '2026-03-09');
      // amy views through 小红书 and joins within the window; bob views through 公众号 and joins;
      // cat joins with no view (no channel); the instructor views through 小红书 and joins (staff: not counted).
      await page(r, '/join/python-trial?c=xhs', '10.0.0.1');
      await page(r, '/join/python-trial?c=xhs', '10.0.0.1'); // a refresh: still one view
      await joins(r, 'amy', R101);
      await page(r, '/join/python-trial?c=gzh', '10.0.0.2');
      await joins(r, 'bob', R101);
      r.clock.set(r.clock.now() + HOUR);
      await joins(r, 'cat', R102);
      await page(r, '/join/python-trial?c=xhs', '10.0.0.3');
      await joins(r, 'teacher', R102);
      // amy buys the course (199 元) through the sandbox.
      const before = r.handled.length;
      r.app.sim!.say('amy', { roomId: R101 }, '报名');
      await waitFor(() => r.handled.length > before, 'amy said 报名');
      await r.app.kernel.runUntil(r.clock.now() + MINUTE, { settleOnly: true });
      const { service, sandbox } = r.app.orders;
      const amy = findMemberByIdentity(r.app.db, 'wechat', 'amy')!;
      const order = service.latestOpenOrder(amy.id)!;
      const { outTradeNo } = await service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
      expect(await sandbox!.pay(outTradeNo)).toBe(204);

      const d = dashboard({ db: r.app.db, config: r.app.config, now: r.clock.now() + DAY });
      // By hand: 小红书 views 2 (amy's client once, the instructor's), joined 1 (amy; the
      // instructor is staff), paid 1, 199 元 against 100 元 spent: ROI 99%. 公众号: bob, unpaid.
      expect(d.joinChannels).toEqual([
        { channel: 'gzh', name: '公众号', views: 1, joined: 1, paid: 0, conversion: 0, revenue: 0, spend: null, roi: null },
        { channel: 'xhs', name: '小红书', views: 2, joined: 1, paid: 1, conversion: 1, revenue: 199, spend: 100, roi: 0.99 },
      ]);
      const table = dashboardTables(d).find((t) => t.id === 'join-channels')!;
      expect(table.title).toBe('入群渠道（群活码）');
      expect(table.rows).toEqual([
        ['公众号（gzh）', 1, 1, 0, 0, 0, null, null],
        ['小红书（xhs）', 2, 1, 1, 100, 199, 100, 99],
      ]);
      // The dashboard's API over HTTP carries the same table.
      const api = await fetch(`${r.server.url}/dashboard/api/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await api.json()) as { tables: { id: string; rows: unknown[][] }[] };
      expect(body.tables.find((t) => t.id === 'join-channels')!.rows).toEqual(table.rows);
    } finally {
      await stop(r);
    }
  });
});
