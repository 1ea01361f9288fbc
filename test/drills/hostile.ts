/**
 * Bad input corpus: every file in test/fixtures/hostile plus inputs made at run time (a 1 MB
 * message, 10,000-line YAML, forged / tampered / replayed payment notifications over real HTTP).
 * Each must be rejected with a clear error or handled, and the store's checksum of the tables the
 * input has no business touching must not change.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_TEXT_CHARS } from '../../src/bot/events.js';
import { createApp, waitReady, type App } from '../../src/app.js';
import { ConfigError, formatProblem } from '../../src/config/errors.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import type { Db } from '../../src/store/db.js';
import { createWebApp, startWebServer } from '../../src/web/server.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hostile', import.meta.url));
const CONFIG = fileURLToPath(new URL('../fixtures/course', import.meta.url));

export interface InputDrillReport {
  tried: number;
  byKind: Record<'message' | 'config' | 'webhook', number>;
  /** One line per input: what it was and what kequn did with it. */
  lines: string[];
  problems: string[];
}

/** sha256 of every row of `tables`, in primary-key order. */
export function checksum(db: Db, tables: string[]): string {
  const h = createHash('sha256');
  for (const t of tables) {
    h.update(`\u0000${t}\u0000`);
    for (const row of db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).raw().all()) h.update(JSON.stringify(row));
  }
  return h.digest('hex');
}

function allTables(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

/** What a chat message may change: the event, the member, the bot's answers and traces, Q&A. */
// A handled message also records which kequn instance answers in its chat (chat_owners, chat_reach).
// `instances`: the heartbeat (every 5 s of the clock) beats while the drill runs a minute on.
// `notices`: an escalated question's notice to the staff (src/core/notices.ts).
// A message may also change private channels: it says whether the sender is a friend, and what
// it causes (a question forwarded to the staff privately) records the channel it reached.
const MESSAGE_TABLES = new Set(['notices', 'events', 'members', 'identities', 'memberships', 'stage_transitions', 'outbox', 'rule_traces', 'rule_fires', 'jobs', 'questions', 'qa_menus', 'llm_usage', 'member_tags', 'reminders_sent', 'referral_decisions', 'chat_owners', 'chat_reach', 'instances', 'private_channels', 'held_messages', 'channel_waits',
  // The counts of outbox, jobs and members rows (migration 26) move with those tables.
  'status_counts', 'status_deltas']);

export async function runInputDrill(): Promise<InputDrillReport> {
  const report: InputDrillReport = { tried: 0, byKind: { message: 0, config: 0, webhook: 0 }, lines: [], problems: [] };
  const dir = mkdtempSync(join(tmpdir(), 'kequn-hostile-'));
  try {
    configInputs(dir, report);
    const dbPath = join(dir, 'kequn.db');
    const config = loadConfig(CONFIG, { env: { KEQUN_DATA: dbPath } });
    const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    try {
      await messageInputs(app, clock, report);
      await webhookInputs(app, clock, report);
    } finally {
      await app.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

function configInputs(dir: string, report: InputDrillReport): void {
  const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { config: Record<string, { replaces: string; error: string }> };
  const lines10k = (broken: boolean) => {
    const out = ['entries:'];
    for (let i = 0; out.length < 10_000 - 4; i++) out.push(`  - id: q${i}`, `    q: 第 ${i} 个问题是什么？`, `    also: [问题 ${i} 的另一种说法]`, `    a: 这是第 ${i} 个答案。`);
    while (out.length < 9_999) out.push('# padding');
    out.push(broken ? '  - id: [unclosed' : '# the end');
    return out.join('\n') + '\n';
  };
  const cases: { name: string; replaces: string; content: Buffer | string; error?: string; line?: number; entries?: number }[] = [
    ...Object.entries(manifest.config).map(([file, m]) => ({ name: file, replaces: m.replaces, content: readFileSync(join(FIXTURES, file)), error: m.error })),
    { name: 'generated: faq.yaml of 10,000 lines (2,499 entries)', replaces: 'faq.yaml', content: lines10k(false), entries: 2499 },
    { name: 'generated: faq.yaml of 10,000 lines, broken on the last', replaces: 'faq.yaml', content: lines10k(true), error: '', line: 10_000 },
    { name: 'generated: 3 MB rules.yaml', replaces: 'rules.yaml', content: '#'.repeat(3 << 20), error: 'limited' },
  ];
  for (const c of cases) {
    report.tried++;
    report.byKind.config++;
    const cfg = join(dir, `cfg-${report.tried}`);
    cpSync(CONFIG, cfg, { recursive: true });
    writeFileSync(join(cfg, c.replaces), c.content);
    const t = performance.now();
    let outcome: string;
    try {
      const loaded = loadConfig(cfg, { env: { KEQUN_DATA: join(dir, 'unused.db') } });
      outcome = `loaded (${loaded.faq.length} FAQ entries)`;
      if (c.entries !== undefined && loaded.faq.length !== c.entries) report.problems.push(`config ${c.name}: ${loaded.faq.length} FAQ entries, expected ${c.entries}`);
      if (c.error !== undefined) report.problems.push(`config ${c.name}: loaded, expected an error`);
    } catch (e) {
      if (!(e instanceof ConfigError)) {
        report.problems.push(`config ${c.name}: crashed with ${(e as Error).message}`);
        continue;
      }
      const p = e.problems[0]!;
      outcome = `refused: ${formatProblem(p)}`;
      if (c.error === undefined) report.problems.push(`config ${c.name}: refused, expected to load: ${outcome}`);
      if (!p.file.endsWith(c.replaces)) report.problems.push(`config ${c.name}: the error names ${p.file}, not ${c.replaces}`);
      if (!(p.line >= 1)) report.problems.push(`config ${c.name}: the error has no line`);
      // An unclosed bracket on the last line is reported where the file ends.
      if (c.line !== undefined && (p.line < c.line || p.line > c.line + 1)) report.problems.push(`config ${c.name}: error on line ${p.line}, expected ${c.line}`);
      if (c.error && !new RegExp(c.error, 'i').test(p.message)) report.problems.push(`config ${c.name}: "${p.message}" does not say ${c.error}`);
    }
    const ms = performance.now() - t;
    if (ms > 3000) report.problems.push(`config ${c.name}: took ${Math.round(ms)} ms`);
    report.lines.push(`config  ${c.name} → ${c.replaces}: ${outcome.slice(0, 160)} (${Math.round(ms)} ms)`);
  }
}

async function messageInputs(app: App, clock: VirtualClock, report: InputDrillReport): Promise<void> {
  const sim = app.sim!;
  const room = 'python-101@chatroom';
  sim.user('mallory', 'Mallory');
  const joined = new Promise((r) => app.kernel.once('handled', r));
  sim.join('mallory', room);
  await joined;
  // What the bot does after logging in (reading the groups' member lists) finishes before the
  // first checksum: it is no input's doing.
  await app.kernel.runUntil(clock.now(), { settleOnly: true });
  const inputs: { name: string; text: string }[] = readdirSync(join(FIXTURES, 'messages'))
    .sort()
    .map((f) => {
      const buf = readFileSync(join(FIXTURES, 'messages', f));
      // .json holds a JSON string (lone surrogates cannot be stored as UTF-8); .bin is decoded as a
      // platform would hand over undecodable bytes (U+FFFD) and also byte-for-byte (latin1).
      if (f.endsWith('.json')) return [{ name: f, text: JSON.parse(buf.toString('utf8')) as string }];
      if (f.endsWith('.bin')) return [{ name: `${f} (utf8)`, text: buf.toString('utf8') }, { name: `${f} (latin1)`, text: buf.toString('latin1') }];
      return [{ name: f, text: buf.toString('utf8') }];
    })
    .flat();
  inputs.push({ name: 'generated: 1 MB message', text: '长'.repeat(1 << 20) });
  inputs.push({ name: 'generated: 100,000 newlines', text: '\n'.repeat(100_000) });
  const unrelated = allTables(app.db).filter((t) => !MESSAGE_TABLES.has(t));
  for (const input of inputs) {
    report.tried++;
    report.byKind.message++;
    const before = checksum(app.db, unrelated);
    const handled = new Promise<{ status: string; eventRowId?: number; reason?: string }>((r) => app.kernel.once('handled', (_e, res) => r(res)));
    sim.say('mallory', { roomId: room }, input.text);
    const res = await Promise.race([handled, new Promise<undefined>((r) => setTimeout(r, 5000))]);
    if (!res) {
      report.problems.push(`message ${input.name}: not handled within 5 s`);
      continue;
    }
    await app.kernel.runUntil(clock.now() + 60_000);
    const row = res.eventRowId !== undefined ? (app.db.prepare('SELECT payload FROM events WHERE id = ?').get(res.eventRowId) as { payload: string }) : undefined;
    const stored = row ? ((JSON.parse(row.payload) as { text?: string }).text ?? '') : '';
    if (res.status !== 'handled') report.problems.push(`message ${input.name}: ${res.status} ${res.reason ?? ''}`);
    if (stored.length > MAX_TEXT_CHARS + 1) report.problems.push(`message ${input.name}: stored ${stored.length} characters`);
    // eslint-disable-next-line no-control-regex -- looking for exactly these
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(stored)) report.problems.push(`message ${input.name}: control characters stored`);
    if (checksum(app.db, unrelated) !== before) report.problems.push(`message ${input.name}: changed tables it has no business with`);
    report.lines.push(`message ${input.name} (${input.text.length} chars): ${res.status}, stored ${stored.length} chars`);
  }
  // The bot still answers an ordinary question after all that.
  const sent: string[] = [];
  const off = sim.onSent((s) => sent.push(s.text));
  // Someone else asks something else (Mallory's zero-width pip question was answered in this
  // group, and the same answer is not repeated in a chat within qa.repeat_cooldown).
  sim.user('trent', 'Trent');
  const came = new Promise((r) => app.kernel.once('handled', r));
  sim.join('trent', room);
  await came;
  const asked = new Promise((r) => app.kernel.once('handled', r));
  sim.say('trent', { roomId: room }, '写代码用什么编辑器？');
  await asked;
  await app.kernel.runUntil(clock.now() + 10 * 60_000);
  off();
  if (!sent.some((t) => t.includes('VS Code'))) report.problems.push(`after the hostile messages the bot no longer answers the FAQ (sent: ${sent.map((t) => t.slice(0, 30)).join(' | ')})`);
}

async function webhookInputs(app: App, clock: VirtualClock, report: InputDrillReport): Promise<void> {
  const server = await startWebServer(createWebApp({ app, clock, log: silentLogger }), { host: '127.0.0.1', port: 0 });
  try {
    // A genuine order and payment attempt; the sandbox pays it without notifying, so we hold
    // the genuine signed notification and can forge, tamper and replay it.
    await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: 'hostile-buy', at: clock.now(), chat: { kind: 'dm' }, user: { id: 'mallory', name: 'Mallory' }, text: '/buy', mentionsBot: false, contentKind: 'text' });
    const { token } = app.db.prepare("SELECT o.token FROM orders o JOIN identities i ON i.member_id = o.member_id WHERE i.platform_id = 'mallory'").get() as { token: string };
    const { outTradeNo } = await app.orders.service.startPayment(token, { method: 'native', clientIp: '127.0.0.1' });
    const sandbox = app.orders.sandbox!;
    await sandbox.pay(outTradeNo, { deliver: false });
    const genuine = sandbox.paidNotification(outTradeNo)!;
    const post = async (headers: Record<string, string>, body: string | Buffer, path = '/webhooks/sandbox', retried = false): Promise<{ status: number; text: string }> => {
      try {
        const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
        return { status: r.status, text: (await r.text()).slice(0, 200) };
      } catch (e) {
        if (!retried) return post(headers, body, path, true);
        // The server may refuse an oversized body by closing the connection before reading it.
        return { status: 999, text: `connection closed by the server (${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message})` };
      }
    };
    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
    const body = JSON.parse(genuine.rawBody) as { resource: { ciphertext: string } };
    const h = genuine.headers;
    const sigKey = Object.keys(h).find((k) => k.toLowerCase() === 'wechatpay-signature')!;
    const tsKey = Object.keys(h).find((k) => k.toLowerCase() === 'wechatpay-timestamp')!;
    const serialKey = Object.keys(h).find((k) => k.toLowerCase() === 'wechatpay-serial')!;
    const cases: { name: string; headers: Record<string, string>; body: string | Buffer; path?: string }[] = [
      { name: 'wrong signature', headers: { ...h, [sigKey]: flip(h[sigKey]!, 10) }, body: genuine.rawBody },
      { name: 'no signature headers', headers: {}, body: genuine.rawBody },
      { name: 'tampered body (one ciphertext character)', headers: h, body: JSON.stringify({ ...body, resource: { ...body.resource, ciphertext: flip(body.resource.ciphertext, 20) } }) },
      { name: 'tampered body (re-serialised, same content)', headers: h, body: JSON.stringify(body, null, 1) },
      { name: 'stale timestamp (replay from a day ago)', headers: { ...h, [tsKey]: String(Number(h[tsKey]) - 86_400) }, body: genuine.rawBody },
      { name: 'unknown platform key serial', headers: { ...h, [serialKey]: 'EVIL-SERIAL' }, body: genuine.rawBody },
      { name: 'not JSON', headers: h, body: '\u0000\u0001<xml>not json</xml>' },
      { name: 'invalid UTF-8 body', headers: h, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
      { name: '2 MB body', headers: h, body: JSON.stringify({ pad: 'x'.repeat(2 << 20) }) },
      { name: 'unknown provider path', headers: h, body: genuine.rawBody, path: '/webhooks/evilpay' },
    ];
    const all = () => checksum(app.db, allTables(app.db));
    for (const c of cases) {
      report.tried++;
      report.byKind.webhook++;
      const before = all();
      const r = await post(c.headers, c.body, c.path);
      if (r.status < 400) report.problems.push(`webhook ${c.name}: answered ${r.status}`);
      if (all() !== before) report.problems.push(`webhook ${c.name}: changed the store`);
      if (app.db.prepare('SELECT state FROM orders WHERE token = ?').pluck().get(token) !== 'created') report.problems.push(`webhook ${c.name}: the order changed state`);
      report.lines.push(`webhook ${c.name}: ${r.status} ${r.text.replace(/\s+/g, ' ')}`);
    }
    // The genuine one pays the order once; replays of it (same notification id) change nothing.
    report.tried++;
    report.byKind.webhook++;
    const ok = await post(h, genuine.rawBody);
    const paid = app.db.prepare('SELECT state FROM orders WHERE token = ?').pluck().get(token);
    if (ok.status >= 300 || paid !== 'paid') report.problems.push(`webhook genuine: ${ok.status}, order ${String(paid)}`);
    report.lines.push(`webhook genuine notification: ${ok.status}, order ${String(paid)}`);
    const afterPaid = checksum(app.db, allTables(app.db));
    for (const name of ['replayed verbatim', 'replayed again']) {
      report.tried++;
      report.byKind.webhook++;
      const r = await post(h, genuine.rawBody);
      if (r.status >= 300) report.problems.push(`webhook ${name}: answered ${r.status} (a redelivery should be acknowledged)`);
      if (checksum(app.db, allTables(app.db)) !== afterPaid) report.problems.push(`webhook ${name}: changed the store`);
      report.lines.push(`webhook ${name}: ${r.status}, store unchanged`);
    }
    // A fresh genuine notification (new id) for the same payment: acknowledged, nothing paid twice.
    report.tried++;
    report.byKind.webhook++;
    const again = sandbox.paidNotification(outTradeNo)!;
    const r2 = await post(again.headers, again.rawBody);
    const paidEvents = app.db.prepare("SELECT count(*) FROM events WHERE type = 'order.paid'").pluck().get() as number;
    if (r2.status >= 300 || paidEvents !== 1) report.problems.push(`webhook second genuine notification: ${r2.status}, ${paidEvents} order.paid events`);
    report.lines.push(`webhook second genuine notification (new id): ${r2.status}, order.paid events ${paidEvents}`);
  } finally {
    await server.close();
  }
}
