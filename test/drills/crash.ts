/**
 * Crash under load: a child kequn (test/drills/crash-child.ts) takes a stream of joins, messages,
 * check-ins, orders and sandbox payments and is killed with SIGKILL at random points, then
 * restarted; an action not acknowledged before the kill is delivered again, as a platform
 * redelivers. At the end the store and the fake platform's delivery log must show: every
 * acknowledged event in the event log once, every paid order paid once with one transition, no
 * message delivered twice, no reminder run twice.
 */
import { seededRandom } from '../../src/util/random.js';
import { fork, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { ChatEvent } from '../../src/bot/events.js';
import type { DrillAction, DrillReply } from './crash-child.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const CONFIG = fileURLToPath(new URL('../fixtures/course', import.meta.url));
const TRIAL = { id: 'python-101@chatroom', name: 'Python 入门体验群' };
const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };

export interface CrashDrillReport {
  kills: number;
  starts: number;
  actions: number;
  /** Actions sent again after a kill (the child died before acknowledging them). */
  redelivered: number;
  events: number;
  paidOrders: number;
  deliveries: number;
  sent: number;
  /** Messages whose send was interrupted by a kill: marked uncertain, never resent. */
  uncertain: number;
  remindersRun: number;
  jobsDone: number;
  virtualHours: number;
  /** Every broken invariant, in words. Empty when nothing was lost or doubled. */
  problems: string[];
}


/** The actions of user `i`: join, say hello, join the paid group and check in, sometimes buy and pay. */
function actionsOf(i: number, at: () => number): DrillAction[] {
  const user = { id: `wxid_drill_${i}`, name: `学员${i}` };
  const ev = (e: Omit<ChatEvent, 'at' | 'platform'>): DrillAction => ({ kind: 'event', event: { ...e, platform: 'wechat', at: at() } as ChatEvent });
  const out: DrillAction[] = [
    ev({ type: 'member.joined', eventId: `join-${i}`, group: TRIAL, user } as Omit<ChatEvent, 'at' | 'platform'>),
    ev({ type: 'message', eventId: `hello-${i}`, chat: { kind: 'group', group: TRIAL }, user, text: `大家好，我是学员${i}`, mentionsBot: false, contentKind: 'text' } as Omit<ChatEvent, 'at' | 'platform'>),
  ];
  if (i % 2 === 0) {
    out.push(ev({ type: 'member.joined', eventId: `vip-${i}`, group: VIP, user } as Omit<ChatEvent, 'at' | 'platform'>));
    // Half of them check in; the 20:00 reminder names the others.
    if (i % 4 === 0) out.push(ev({ type: 'message', eventId: `checkin-${i}`, chat: { kind: 'group', group: VIP }, user, text: `打卡 今天学了第 ${i} 节`, mentionsBot: false, contentKind: 'text' } as Omit<ChatEvent, 'at' | 'platform'>));
  }
  if (i % 3 === 0) {
    out.push(ev({ type: 'message', eventId: `buy-${i}`, chat: { kind: 'dm' }, user, text: '/buy', mentionsBot: false, contentKind: 'text' } as Omit<ChatEvent, 'at' | 'platform'>));
    out.push({ kind: 'pay', user: user.id });
  }
  return out;
}

export async function runCrashDrill(opts: { kills: number; seed?: number; minUsers?: number; log?: (line: string) => void }): Promise<CrashDrillReport> {
  const log = opts.log ?? (() => undefined);
  const random = seededRandom(opts.seed ?? 20260302);
  const dir = mkdtempSync(join(tmpdir(), 'kequn-crash-'));
  const configDir = join(dir, 'config');
  cpSync(CONFIG, configDir, { recursive: true });
  // Quiet hours would hold the drip for ten virtual hours; the drill is about crashes, not pacing.
  const main = join(configDir, 'kequn.yaml');
  // Pacing off too: on a clock 1200 times faster, one second between messages is under a real
  // millisecond, below the outbox's timer floor, and the queue would only grow.
  const yaml = readFileSync(main, 'utf8')
    .replace('start: "22:00"\n  end: "08:00"', 'start: "03:00"\n  end: "03:01"')
    .replace('  account_interval: 1s\n  chat_interval: 2s\n  jitter: 500ms', '  account_interval: 0s\n  chat_interval: 0s\n  jitter: 0s');
  if (!yaml.includes('account_interval: 0s') || !yaml.includes('end: "03:01"') || !yaml.includes('daily_cap: 1500')) throw new Error('the demo config changed: update the crash drill');
  // A day of the drill has more buyers and messages than the demo's 200 seats and daily cap.
  writeFileSync(main, yaml.replace('daily_cap: 1500', 'daily_cap: 100000'));
  const catalog = join(configDir, 'catalog.yaml');
  // At 1200× the demo's 2-hour payment link lasts 6 real seconds; a restart on a loaded machine
  // can take longer than that between a buyer's /buy and their payment, which is not what this
  // drill is about. Expired links have their own tests.
  const catalogYaml = readFileSync(catalog, 'utf8');
  if (!catalogYaml.includes('seats: 200') || !catalogYaml.includes('link_ttl: 2h')) throw new Error('the demo catalog changed: update the crash drill');
  writeFileSync(catalog, catalogYaml.replace('seats: 200', 'seats: 100000').replace('link_ttl: 2h', 'link_ttl: 30d'));
  const speed = 1200; // one real second is 20 virtual minutes: the 20:00 reminder falls inside the drill
  const t0 = Date.parse('2026-03-02T17:30:00+08:00');
  const real0 = Date.now();
  const env = {
    ...process.env,
    DRILL_DATA: join(dir, 'kequn.db'),
    DRILL_DELIVERIES: join(dir, 'deliveries.db'),
    DRILL_CONFIG: configDir,
    DRILL_T0: String(t0),
    DRILL_REAL0: String(real0),
    DRILL_SPEED: String(speed),
  };
  const virtualNow = () => t0 + (Date.now() - real0) * speed;

  const queue: DrillAction[] = [];
  let nextUser = 0;
  const acked: { action: DrillAction; status: string }[] = [];
  let kills = 0;
  let starts = 0;
  let redelivered = 0;

  const start = (): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      starts++;
      const t = Date.now();
      const child = fork(CHILD, [], { env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (process.env.DRILL_LOG) process.stderr.write(d);
      });
      const onExit = (code: number | null) => reject(new Error(`drill child exited before ready (code ${code}): ${stderr.slice(-2000)}`));
      child.once('exit', onExit);
      child.once('message', (m: DrillReply) => {
        if ('ready' in m) {
          child.off('exit', onExit);
          log(`start ${starts}: ready in ${Date.now() - t} ms`);
          resolve(child);
        }
      });
    });

  /** Sends one action; resolves with its status, or undefined when the child died first. */
  const request = (child: ChildProcess, action: DrillAction): Promise<string | undefined> =>
    new Promise((resolve) => {
      const onExit = () => resolve(undefined);
      child.once('exit', onExit);
      child.once('message', (m: DrillReply) => {
        child.off('exit', onExit);
        resolve('ack' in m ? m.status : undefined);
      });
      try {
        child.send(action);
      } catch {
        // the channel closed under us: the exit handler answers
      }
    });

  let inFlightAgain = false;
  while (kills < opts.kills || nextUser < (opts.minUsers ?? 0) || queue.length > 0) {
    const child = await start();
    const killing = kills < opts.kills;
    let killed = false;
    const timer = killing
      ? setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, 150 + random() * 900)
      : undefined;
    for (;;) {
      if (queue.length === 0) {
        if (!killing && nextUser >= (opts.minUsers ?? 0)) break;
        queue.push(...actionsOf(nextUser++, virtualNow));
      }
      const action = queue[0]!;
      if (inFlightAgain) redelivered++;
      const status = await request(child, action);
      if (status === undefined) {
        inFlightAgain = true;
        break;
      }
      inFlightAgain = false;
      queue.shift();
      acked.push({ action, status });
    }
    clearTimeout(timer);
    if (killed || child.exitCode !== null || child.signalCode !== null) {
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
      kills++;
      log(`kill ${kills}: after ${acked.length} acknowledged actions`);
      continue;
    }
    // The last run: let the outbox and the scheduler finish, then stop cleanly.
    log(`drain: ${await request(child, { kind: 'drain' })}`);
    child.send({ kind: 'exit' } satisfies DrillAction);
    await new Promise((r) => child.once('exit', r));
    break;
  }

  const report = check(env.DRILL_DATA, env.DRILL_DELIVERIES, acked);
  const result: CrashDrillReport = { kills, starts, actions: acked.length, redelivered, ...report, virtualHours: Math.round((virtualNow() - t0) / 3600_000) };
  if (process.env.DRILL_KEEP) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return result;
}

function check(dataPath: string, deliveriesPath: string, acked: { action: DrillAction; status: string }[]) {
  const problems: string[] = [];
  const db = new Database(dataPath, { readonly: true });
  const deliveries = new Database(deliveriesPath, { readonly: true });
  const q = <T>(sql: string, ...args: unknown[]) => db.prepare(sql).all(...args) as T[];
  const one = (sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;

  // 1. Every acknowledged event is in the log exactly once.
  const events = acked.filter((a) => a.action.kind === 'event');
  for (const { action, status } of events) {
    const e = (action as { event: ChatEvent }).event;
    if (status !== 'handled' && status !== 'duplicate') problems.push(`event ${e.eventId} was acknowledged as ${status}`);
    const n = one('SELECT count(*) AS n FROM events WHERE dedupe_key = ?', `wechat:${e.eventId}`);
    if (n !== 1) problems.push(`event ${e.eventId} is in the log ${n} times`);
  }
  const eventCount = one("SELECT count(*) AS n FROM events WHERE platform = 'wechat' AND type IN ('member.joined', 'message')");
  if (eventCount !== new Set(events.map((a) => (a.action as { event: ChatEvent }).event.eventId)).size) problems.push(`the log has ${eventCount} platform events, ${events.length} were acknowledged`);

  // 2. Every paid order paid once, with one transition; every acknowledged payment paid.
  const paid = q<{ id: string; member_id: string }>("SELECT id, member_id FROM orders WHERE state = 'paid'");
  for (const o of paid) {
    const attempts = one("SELECT count(*) AS n FROM payment_attempts WHERE order_id = ? AND state = 'paid'", o.id);
    if (attempts !== 1) problems.push(`order ${o.id} has ${attempts} paid attempts`);
    const transitions = one("SELECT count(*) AS n FROM events WHERE type = 'order.paid' AND json_extract(payload, '$.order.id') = ?", o.id);
    if (transitions !== 1) problems.push(`order ${o.id} has ${transitions} order.paid events`);
  }
  for (const { action, status } of acked.filter((a) => a.action.kind === 'pay')) {
    const user = (action as { user: string }).user;
    const n = one("SELECT count(*) AS n FROM orders o JOIN identities i ON i.member_id = o.member_id WHERE i.platform_id = ? AND o.state = 'paid'", user);
    if (status === 'no-order' || status.startsWith('error')) problems.push(`${user}'s payment could not be made: ${status}`);
    else if (n !== 1) problems.push(`${user}'s payment was acknowledged (${status}) but ${n} orders of theirs are paid`);
  }

  // 3. No message delivered twice: per chat and text, no more deliveries than outbox rows that
  // were sent (or were being sent when the process died), and every sent row delivered.
  const rows = q<{ chat_id: string; text: string; sent: number; maybe: number }>(
    "SELECT chat_id, text, sum(status = 'sent') AS sent, sum(status IN ('sent', 'uncertain')) AS maybe FROM outbox GROUP BY chat_id, text",
  );
  const got = new Map(
    (deliveries.prepare('SELECT chat_id, text, count(*) AS n FROM deliveries GROUP BY chat_id, text').all() as { chat_id: string; text: string; n: number }[]).map((r) => [`${r.chat_id}\u0000${r.text}`, r.n]),
  );
  for (const r of rows) {
    const n = got.get(`${r.chat_id}\u0000${r.text}`) ?? 0;
    got.delete(`${r.chat_id}\u0000${r.text}`);
    if (n > r.maybe) problems.push(`delivered ${n} times, sent ${r.maybe}: ${r.chat_id} "${r.text.slice(0, 40)}"`);
    if (n < r.sent) problems.push(`marked sent ${r.sent} times, delivered ${n}: ${r.chat_id} "${r.text.slice(0, 40)}"`);
  }
  for (const [key, n] of got) problems.push(`delivered ${n} times but not in the outbox: ${key.slice(0, 60)}`);
  const dupRows = q<{ chat_id: string; text: string; n: number }>('SELECT chat_id, text, count(*) AS n FROM outbox GROUP BY chat_id, text HAVING n > 1');
  for (const d of dupRows) problems.push(`queued ${d.n} times: ${d.chat_id} "${d.text.slice(0, 40)}"`);

  // 4. No reminder ran twice.
  const reminderTwice = q<{ due_at: number; n: number }>("SELECT due_at, count(*) AS n FROM jobs WHERE kind = 'checkin.reminder' AND status = 'done' AND json_extract(payload, '$.cursor') IS NULL GROUP BY due_at HAVING n > 1");
  for (const r of reminderTwice) problems.push(`the check-in reminder due ${new Date(r.due_at).toISOString()} ran ${r.n} times`);
  const sharedOutbox = one('SELECT count(*) AS n FROM (SELECT outbox_id FROM reminders_sent WHERE outbox_id IS NOT NULL GROUP BY outbox_id HAVING count(*) > 1)');
  if (sharedOutbox > 0) problems.push(`${sharedOutbox} reminder messages claimed by two reminders`);

  const integrity = db.pragma('integrity_check', { simple: true });
  if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`);
  const result = {
    events: eventCount,
    paidOrders: paid.length,
    deliveries: (deliveries.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n,
    sent: one("SELECT count(*) AS n FROM outbox WHERE status = 'sent'"),
    uncertain: one("SELECT count(*) AS n FROM outbox WHERE status = 'uncertain'"),
    remindersRun: one("SELECT count(*) AS n FROM jobs WHERE kind = 'checkin.reminder' AND status = 'done'"),
    jobsDone: one("SELECT count(*) AS n FROM jobs WHERE status = 'done'"),
    problems,
  };
  db.close();
  deliveries.close();
  return result;
}
