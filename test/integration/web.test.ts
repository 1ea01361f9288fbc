import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { OffsetClock, VirtualClock } from '../../src/core/schedule/clock.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';

// The playground over real HTTP, on a live kernel: real pacing (about 1 s between sends), the
// simulated WeChat through the real Wechaty adapter, a SQLite file, an offset clock.

interface Line {
  n: number;
  kind: 'bot' | 'member' | 'joined' | 'left' | 'friend_request' | 'friend_accepted';
  userId: string | null;
  name: string;
  text: string;
  at: number;
}
interface State {
  ready: boolean;
  clock: { now: number; offsetMs: number | null; canAdvance: boolean };
  queue: { pending: number; nextJobAt: number | null };
  groups: { handle: string; name: string; kind: string; roomId: string; members: string[] }[];
  users: { id: string; name: string; role: string; member: { memberId: string; stage: string } | null; tags: string[] }[];
  chats: Record<string, Line[]>;
}

let dir: string;
let app: App;
let clock: OffsetClock;
let server: WebServer;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kequn-web-'));
  const config = loadConfig('test/fixtures/course');
  clock = new OffsetClock();
  // Daytime in the course's time zone, so quiet hours (22:00-08:00) never hold the drip back.
  clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
  app = await createApp({ config, clock, log: silentLogger, live: true, dbPath: join(dir, 'kequn.db') });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger }), { host: '127.0.0.1', port: 0 });
  base = server.url;
});

afterAll(async () => {
  await server?.close();
  await app?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Response bodies are JSON checked by expect(), not by types.
/* eslint-disable @typescript-eslint/no-explicit-any */
async function get(path: string): Promise<{ status: number; body: any }> {
  const r = await fetch(base + path);
  return { status: r.status, body: await r.json() };
}

async function post(path: string, body: unknown, opts: { raw?: string; contentType?: string } = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': opts.contentType ?? 'application/json' },
    body: opts.raw ?? JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

async function state(): Promise<State> {
  const r = await get('/api/playground/state');
  expect(r.status).toBe(200);
  return r.body as State;
}

/** Polls until `probe` returns something, or fails after `timeoutMs` saying what it waited for. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const botLine = (lines: Line[] | undefined, needle: string) => lines?.find((l) => l.kind === 'bot' && l.text.includes(needle));

describe('web server and playground', () => {
  it('binds 127.0.0.1 on a real port', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
  });

  it('/healthz is 200 and ready', async () => {
    const r = await get('/healthz');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', ready: true, instance: 'main', members: 0, outbox: {}, jobs: {} });
    expect(r.body.uptimeMs).toBeGreaterThan(0);
  });

  it('/ redirects to the playground page, which loads its own script and style', async () => {
    const root = await fetch(base + '/', { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/playground');
    const page = await fetch(base + '/playground');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('/playground/app.js');
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
    const js = await fetch(base + '/playground/app.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).not.toContain('innerHTML');
  });

  it('lists the course groups with their room ids, and the staff as users', async () => {
    const s = await state();
    expect(s.ready).toBe(true);
    expect(s.clock.canAdvance).toBe(true);
    expect(s.groups.map((g) => [g.handle, g.roomId, g.kind])).toEqual([
      ['python-101', 'python-101@chatroom', 'trial'],
      ['python-vip', 'python-vip@chatroom', 'paid'],
    ]);
    expect(s.users.find((u) => u.id === 'teacher')?.role).toBe('instructor');
  });

  it('a new member (a stranger to the account) joins the trial group: welcome in the group, stage trial; adds the bot: lesson 1 in the DM', async () => {
    const created = await post('/api/playground/users', { id: 'alice', name: 'Alice' });
    expect(created.status).toBe(201);
    expect((await post('/api/playground/users', { id: 'alice', name: 'Alice again' })).status).toBe(409);

    const joined = await post('/api/playground/join', { user: 'alice', group: 'python-101' });
    expect(joined.status).toBe(200);
    await until('the welcome in the group', async () => botLine((await state()).chats['group:python-101'], 'Alice'));
    expect((await state()).users.find((u) => u.id === 'alice')).toMatchObject({ friend: false });
    // A stranger cannot write to the account privately, nor send a greeting with control characters.
    expect((await post('/api/playground/say', { user: 'alice', dm: true, text: '你好' })).status).toBe(409);
    expect((await post('/api/playground/befriend', { user: 'alice', greeting: 'a\u0000b' })).status).toBe(400);
    expect((await post('/api/playground/befriend', { user: 'alice', greeting: '我想试听' })).status).toBe(200);
    expect((await post('/api/playground/befriend', { user: 'alice', greeting: '我想试听' })).status).toBe(409);
    // The acceptance waits its random delay (30 s to 3 min): fast-forward past it.
    expect((await post('/api/playground/advance', { ms: 3_600_000 })).status).toBe(200);

    const s = await until('the welcome in the group and lesson 1 in the DM', async () => {
      const s = await state();
      return botLine(s.chats['group:python-101'], 'Alice') && botLine(s.chats['dm:alice'], '第1课') ? s : undefined;
    });
    const group = s.chats['group:python-101']!;
    expect(group[0]).toMatchObject({ kind: 'joined', userId: 'alice', name: 'Alice' });
    expect(botLine(group, '欢迎 Alice')).toMatchObject({ userId: null, name: '小课' });
    expect(s.groups.find((g) => g.handle === 'python-101')?.members).toEqual(['alice']);
    expect(s.users.find((u) => u.id === 'alice')?.member?.stage).toBe('trial');

    const m = await get('/api/playground/members/alice');
    expect(m.status).toBe(200);
    expect(m.body.member.stage).toBe('trial');
    expect(m.body.stageHistory.map((h: { to: string }) => h.to)).toEqual(['prospect', 'trial']);
    expect(m.body.traces.find((t: { ruleId: string; matched: boolean }) => t.ruleId === 'welcome-newcomer')).toMatchObject({
      matched: true,
      eventType: 'member.joined',
    });
    // The same member by member key.
    expect((await get(`/api/playground/members/${m.body.member.id}`)).body.member.id).toBe(m.body.member.id);

    const again = await post('/api/playground/join', { user: 'alice', group: 'python-101' });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('alice 已经在 python-101 里了');
  });

  it('rejects bad requests with 400 { error } and changes nothing', async () => {
    // Wait until the bot has finished sending, so the state can only change through a request.
    await until('an empty outbox', async () => ((await state()).queue.pending === 0 ? true : undefined));
    const before = await state();
    const health = (await get('/healthz')).body;

    const bad: [string, unknown, { raw?: string; contentType?: string }?][] = [
      ['/api/playground/join', undefined, { raw: '{"user": "alice", ' }],
      ['/api/playground/say', undefined, { raw: 'not json' }],
      ['/api/playground/join', { user: 'alice', group: 'no-such-group' }],
      ['/api/playground/say', { user: 'alice', group: 'no-such-group', text: 'hi' }],
      ['/api/playground/say', { user: 'alice', group: 'python-101', text: 'x'.repeat(5000) }],
      ['/api/playground/say', { user: 'alice', dm: true, text: '   ' }],
      ['/api/playground/say', { user: 'alice', group: 'python-101', dm: true, text: 'both' }],
      ['/api/playground/say', { user: 'nobody', dm: true, text: 'hi' }],
      ['/api/playground/users', { id: 'bad id!', name: 'Bad' }],
      ['/api/playground/users', { id: 'x'.repeat(65), name: 'Long' }],
      ['/api/playground/users', { id: 'bob', name: '' }],
      ['/api/playground/users', { id: 'bob', name: 'Bob', extra: 1 }],
      ['/api/playground/join', { user: '../etc', group: 'python-101' }],
      ['/api/playground/advance', { ms: -1000 }],
      ['/api/playground/advance', { ms: 'a day' }],
    ];
    for (const [path, body, opts] of bad) {
      const r = await post(path, body, opts);
      expect({ path, body, status: r.status }).toEqual({ path, body, status: 400 });
      expect(typeof r.body.error).toBe('string');
    }
    expect((await post('/api/playground/say', undefined, { raw: 'user=alice&text=hi', contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await get('/api/playground/members/bad%20id')).status).toBe(400);
    expect((await get('/api/playground/members/nobody')).status).toBe(404);
    expect((await get('/api/playground/nothing')).status).toBe(404);

    const after = await state();
    expect(after.users).toEqual(before.users);
    expect(after.groups).toEqual(before.groups);
    expect(after.chats).toEqual(before.chats);
    expect(after.clock.offsetMs).toBe(before.clock.offsetMs);
    const healthAfter = (await get('/healthz')).body;
    expect([healthAfter.members, healthAfter.outbox, healthAfter.jobs]).toEqual([health.members, health.outbox, health.jobs]);
  });

  it('a member speaks in the group; both sides show in the transcript', async () => {
    expect((await post('/api/playground/say', { user: 'alice', group: 'python-101', text: '大家好 <b>hi</b>' })).status).toBe(200);
    const s = await until('Alice\'s message in the group', async () => {
      const s = await state();
      return s.chats['group:python-101']?.some((l) => l.kind === 'member' && l.text === '大家好 <b>hi</b>') ? s : undefined;
    });
    const lines = s.chats['group:python-101']!;
    expect(lines.map((l) => l.n)).toEqual([...lines.map((l) => l.n)].sort((a, b) => a - b));
    // Someone not in the group cannot speak in it.
    expect((await post('/api/playground/users', { id: 'bob', name: 'Bob' })).status).toBe(201);
    expect((await post('/api/playground/say', { user: 'bob', group: 'python-101', text: 'hi' })).status).toBe(409);
  });

  it('fast-forwarding one day delivers lesson 2 in the DM', async () => {
    const before = await state();
    expect(botLine(before.chats['dm:alice'], '第2课')).toBeUndefined();
    const r = await post('/api/playground/advance', { ms: 86_400_000 });
    expect(r.status).toBe(200);
    expect(r.body.offsetMs).toBe(before.clock.offsetMs! + 86_400_000);
    const s = await until('lesson 2 in the DM', async () => {
      const s = await state();
      return botLine(s.chats['dm:alice'], '第2课') ? s : undefined;
    });
    expect(botLine(s.chats['dm:alice'], '第2课')!.at).toBeGreaterThanOrEqual(before.clock.now + 86_400_000);
    expect((await get('/healthz')).body.jobs.done).toBeGreaterThanOrEqual(1);
  });

  it('leaving the last group makes the member churned', async () => {
    expect((await post('/api/playground/leave', { user: 'alice', group: 'python-101' })).status).toBe(200);
    expect((await post('/api/playground/leave', { user: 'alice', group: 'python-101' })).status).toBe(409);
    await until('stage churned', async () => ((await get('/api/playground/members/alice')).body.member.stage === 'churned' ? true : undefined));
    const s = await state();
    expect(s.groups.find((g) => g.handle === 'python-101')?.members).toEqual([]);
    expect(s.chats['group:python-101']?.at(-1)).toMatchObject({ kind: 'left', userId: 'alice' });
  });

  it('/healthz counts (kept by triggers) equal a count by hand of members, outbox and jobs after the day above', async () => {
    await until('an empty outbox', async () => ((await state()).queue.pending === 0 ? true : undefined));
    const body = (await get('/healthz')).body;
    const byHand = (table: string) =>
      Object.fromEntries((app.db.prepare(`SELECT status, COUNT(*) AS n FROM ${table} GROUP BY status`).all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
    expect(body.members).toBe((app.db.prepare('SELECT COUNT(*) AS n FROM members').get() as { n: number }).n);
    expect(body.members).toBeGreaterThanOrEqual(1);
    expect(body.outbox).toEqual(byHand('outbox'));
    expect(body.outbox.sent).toBeGreaterThanOrEqual(2);
    expect(body.jobs).toEqual(byHand('jobs'));
  });

  it('answers only to loopback host names (DNS rebinding), except /healthz', async () => {
    const status = (path: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status('/api/playground/state', 'evil.example')).toBe(403);
    expect(await status('/playground', `evil.example:${server.port}`)).toBe(403);
    expect(await status('/api/playground/state', `localhost:${server.port}`)).toBe(200);
    expect(await status('/healthz', 'kequn.internal')).toBe(200);
  });

  it('without the simulated WeChat, the playground API is 404 with an explanation', async () => {
    const web = createWebApp({ app: { ...app, sim: undefined }, clock, log: silentLogger });
    const r = await web.request('http://127.0.0.1/api/playground/state');
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toMatch(/every platform is simulated/);
    expect((await web.request('http://127.0.0.1/playground')).status).toBe(404);
  });

  it('fast-forward is refused on a clock that is not an offset clock', async () => {
    const web = createWebApp({ app, clock: new VirtualClock(0), log: silentLogger });
    const r = await web.request('http://127.0.0.1/api/playground/advance', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ms: 1000 }),
    });
    expect(r.status).toBe(409);
  });
});
