/**
 * Attacks on the private channel (docs/wechat.md, docs/telegram.md): strangers flooding the
 * WeChat account with friend requests to get accepted, greetings that are huge or carry forged
 * referral codes, a stranger named like the principal inviting the account into a group, a
 * stranger writing privately through the playground, forged Telegram deep-link payloads and
 * Start pressed over and over. Each runs on a kequn of its own (temp store, web server on
 * 127.0.0.1, the simulated WeChat or the fake Bot API).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, waitReady, type App } from '../../../src/app.js';
import { loadConfig } from '../../../src/app.js';
import { silentLogger } from '../../../src/log.js';
import { VirtualClock } from '../../../src/core/schedule/clock.js';
import { FakeBotApi } from '../../../src/testing/fake-bot-api.js';
import { createWebApp, startWebServer } from '../../../src/web/server.js';
import type { AttackReport, AttackSuite } from './suite.js';

const COURSE = 'test/fixtures/course';
const T0 = Date.parse('2026-03-02T10:00:00+08:00');
const HOUR = 3_600_000;

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const count = (app: App, sql: string, ...args: unknown[]) => (app.db.prepare(sql).get(...args) as { n: number }).n;

async function wechatAttacks(dir: string, r: AttackReport): Promise<void> {
  const clock = new VirtualClock(T0);
  const app = await createApp({ config: loadConfig(COURSE, { env: {} }), clock, log: silentLogger, live: false, dbPath: join(dir, 'wechat.db') });
  let requests = 0;
  let invites = 0;
  app.kernel.on('handled', (e) => {
    if (e.type === 'friend.requested') requests++;
    if (e.type === 'room.invited') invites++;
  });
  const web = await startWebServer(createWebApp({ app, clock, log: silentLogger }), { port: 0 });
  try {
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    const sim = app.sim!;

    // 300 strangers who are in no group and say nothing the policy knows, one of them 50 times,
    // greetings huge, forged codes, SQL.
    const greetings = ['你好', 'hi', '推荐码 ZZZ999', "推荐码 ' OR 1=1 --", '加我'.repeat(50_000), '\u202e试听\u202c'.replace('试听', '试 听')];
    let sent = 0;
    for (let i = 0; i < 300; i++) {
      sim.user(`s${i}`, `陌生人${i}`, { stranger: true });
      sim.befriend(`s${i}`, greetings[i % greetings.length]!);
      sent++;
    }
    for (let k = 0; k < 50; k++, sent++) sim.befriend('s0', `第${k}次：加我`);
    r.tried += sent;
    await until(`${sent} friend requests handled`, () => requests === sent, 15_000);
    await app.kernel.runUntil(T0 + 2 * HOUR);
    const accepted = sim.friendRequests.filter((x) => x.acceptedAt !== null).length;
    const longest = (app.db.prepare('SELECT MAX(LENGTH(greeting)) AS n FROM friend_requests').get() as { n: number }).n;
    const referrals = count(app, 'SELECT COUNT(*) AS n FROM referrals');
    r.lines.push(`${sent} friend requests from strangers outside the course (huge greetings, forged codes): ${accepted} accepted, longest greeting kept ${longest} characters, ${referrals} referrals`);
    if (accepted > 0) r.problems.push(`${accepted} friend requests of strangers the policy does not accept were accepted`);
    if (longest > 500) r.problems.push(`a greeting of ${longest} characters was stored`);
    if (referrals > 0) r.problems.push('a forged referral code in a greeting made a referral');
    if (count(app, 'SELECT COUNT(*) AS n FROM members') > 0) r.problems.push('ignored friend requests created members');

    // A stranger named exactly like the principal invites the account into a group.
    sim.user('fake-principal', '张校长');
    sim.inviteBot('fake-principal', '免费领资料群');
    r.tried++;
    await until('the invitation', () => invites === 1);
    await app.kernel.runUntil(clock.now() + HOUR);
    const joinedSpam = sim.invitations[0]!.accepted;
    r.lines.push(`a room invitation from a stranger named 张校长: ${joinedSpam ? 'ACCEPTED' : 'declined'}`);
    if (joinedSpam) r.problems.push('the account joined a group on a stranger\'s invitation (staff are known by platform id, not by name)');

    // A stranger writes privately through the playground: WeChat does not let them.
    const events = count(app, 'SELECT COUNT(*) AS n FROM events');
    const res = await fetch(`${web.url}/api/playground/say`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 's1', dm: true, text: '试听' }) });
    r.tried++;
    r.lines.push(`a stranger writing privately through the playground: ${res.status}`);
    if (res.status !== 409) r.problems.push(`a stranger's private message was answered ${res.status}, not 409`);
    if (count(app, 'SELECT COUNT(*) AS n FROM events') !== events) r.problems.push('a stranger\'s refused private message reached the engine');
  } finally {
    await web.close();
    await app.stop();
  }
}

async function telegramAttacks(dir: string, r: AttackReport): Promise<void> {
  const api = await FakeBotApi.start();
  const clock = new VirtualClock(T0);
  const app = await createApp({
    config: loadConfig(COURSE, { env: {} }),
    clock,
    log: silentLogger,
    live: false,
    dbPath: join(dir, 'telegram.db'),
    wechat: { kind: 'off' },
    telegram: { token: api.token, apiRoot: api.url, delivery: { kind: 'polling', timeoutSeconds: 1 } },
  });
  let handled = 0;
  app.kernel.on('handled', () => handled++);
  try {
    await app.kernel.start();
    const payloads = ['ref-ZZZ999', 'ref-', '<script>alert(1)</script>', 'src-' + 'x'.repeat(200), '推荐码', "src-' OR 1=1", 'ref-K7M2XQ K7M2XQ', '\u0000\u0007'];
    payloads.forEach((p, i) => api.start(api.person(6000 + i, `p${i}`), p));
    r.tried += payloads.length;
    // One person pressing Start 30 times.
    const spammer = api.person(6100, 'spam');
    for (let i = 0; i < 30; i++) api.start(spammer, '');
    r.tried += 30;
    await until('the Starts handled', () => handled === payloads.length + 30, 15_000);
    await app.kernel.runUntil(clock.now() + HOUR);
    const sources = (app.db.prepare('SELECT source FROM private_channels WHERE source IS NOT NULL').all() as { source: string }[]).map((s) => s.source);
    const bad = sources.filter((s) => !/^[A-Za-z0-9_-]{1,64}$/.test(s));
    const referrals = count(app, 'SELECT COUNT(*) AS n FROM referrals');
    const toSpammer = api.sent.filter((m) => m.chatId === '6100').length;
    r.lines.push(`forged /start payloads: ${sources.length} sources kept (${bad.length} malformed), ${referrals} referrals; 30 Starts from one person: ${toSpammer} messages back`);
    if (bad.length) r.problems.push(`malformed acquisition tags were stored: ${bad.map((s) => JSON.stringify(s.slice(0, 20))).join(', ')}`);
    if (referrals > 0) r.problems.push('a forged /start referral code made a referral');
    // The welcome and lesson 1, then one answer to Start again per 10 minutes.
    if (toSpammer > 3) r.problems.push(`Start pressed 30 times got ${toSpammer} messages back`);
  } finally {
    await app.stop();
    await api.close();
  }
}

export const privateChannelSuite: AttackSuite = {
  name: 'private-channel',
  title: 'friend-request floods and forged greetings, a stranger named like the principal inviting the account, forged /start payloads, Start spam',
  async run() {
    const r: AttackReport = { tried: 0, lines: [], problems: [] };
    const dir = mkdtempSync(join(tmpdir(), 'kequn-hostile-channel-'));
    try {
      await wechatAttacks(dir, r);
      await telegramAttacks(dir, r);
    } catch (e) {
      r.problems.push(`the suite could not finish: ${(e as Error).message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return r;
  },
};
