/**
 * `names-and-patterns`: what a course config and a member's profile can smuggle in.
 *
 * - Evil rule regexes through `kequn check` (backreferences, lookaround, catastrophic and
 *   costly patterns), then a running kequn whose rules hold every pattern the limits let
 *   through, fed messages built to make them work hardest: the event loop must never stall
 *   longer than MAX_STALL_MS.
 * - 700 coupon guesses over real HTTP at one checkout page, and 700 through chat: EARLY50 and
 *   VIP10 must never be found, and the chat must answer a real code as it answers a wrong one.
 * - Lesson files that escape the config folder (../, absolute, symlinks, a FIFO).
 * - Members with control characters, bidi overrides and zero-width characters in their names,
 *   then `kequn why` and `kequn member export` (the real CLI entry): no raw character printed.
 */
import { mkdtempSync, cpSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, waitReady, type App } from '../../../src/app.js';
import { MAX_TEXT_CHARS } from '../../../src/bot/events.js';
import { main } from '../../../src/cli/main.js';
import { ConfigError, formatProblem } from '../../../src/config/errors.js';
import { loadConfig } from '../../../src/app.js';
import { MAX_TOTAL_REGEX_COST, type Cond } from '../../../src/core/rules/conditions.js';
import { silentLogger } from '../../../src/log.js';
import { VirtualClock } from '../../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../../src/store/members.js';
import { getOrder, latestOrderOf } from '../../../src/flows/orders/store/orders.js';
import { compileLinearRegex, type LinearRegex } from '../../../src/core/rules/linear-regex.js';
import { seededRandom } from '../../../src/util/random.js';
import { createWebApp, startWebServer, type WebServer } from '../../../src/web/server.js';
import type { AttackReport, AttackSuite } from './suite.js';

const COURSE = fileURLToPath(new URL('../../fixtures/course', import.meta.url));

/**
 * The longest the event loop may stall on one event, whatever the rules' regexes and the
 * message: all the patterns the cost limit allows, on a 4,000-character message built against
 * them, measured at 0.1-0.3 s on 2 shared cores (bench: rules.regex_worst_event_ms); the rest
 * is room for a machine busy with other work (npm test runs files in parallel).
 */
export const MAX_STALL_MS = 1000;

/** Patterns known to backtrack catastrophically, and ones that make RE2 work hardest. */
const EVIL_PATTERNS = [
  '^(a+)+$',
  '(a|aa)*b',
  '(x+x+)+y',
  '^(\\w+\\s?)*$',
  '([a-zA-Z]+)*!',
  '^(([a-z])+.)+[A-Z]([a-z])+$',
  '(.*a){12}',
  '^(\\s*打卡)+\\s*!$',
  '[ab]*a[ab]{280}x',
  '[^x]*a[^x]{280}x',
  '(?:[ab]*a[ab]{20}){5}x',
  '[\\s\\S]{250}z',
];

/** Patterns `kequn check` must refuse, and a word its message must hold. */
const REFUSED_PATTERNS: [string, RegExp][] = [
  ['(\\w)\\1+', /backreference/],
  ['(?<c>.)\\k<c>', /backreference/],
  ['^(?=.*报名).*$', /lookahead/],
  ['^(?!.*广告)', /lookahead/],
  ['(?<=微信)\\w+', /lookbehind/],
  ['(?<!老)师', /lookbehind/],
  ['[ab]*a[ab]{400}x', /too complex/],
  ['(a{500}){3}', /repeat count|too complex/],
  ['\\p{Emoji}+', /binary properties/],
  ['([a-z', /invalid regular expression/],
];

const HOSTILE_NAMES = [
  'Bob\u202Egnp.exe',
  '张三\nOWNER: 李老师 (instructor)',
  'Mal\u001b[2J\u001b[31mlory',
  'Al\u200Bi\u200Dce\uFEFF',
  'C1\u0085\u009b[0mnext',
  '\u2066iso\u2069\u200Elate\u061C',
  '\u3164\u115F',
];

// eslint-disable-next-line no-control-regex -- finding them is the point
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u2028\u2029\u3164\ufeff]/;

/** What the `matches` conditions under these condition trees cost together. */
function regexCost(conds: Cond[]): number {
  let total = 0;
  const walk = (c: Cond): void => {
    if (c.kind === 'leaf') total += c.op === 'matches' ? (c.value as LinearRegex).cost : 0;
    else if (c.kind === 'not') walk(c.item);
    else c.items.forEach(walk);
  };
  conds.forEach(walk);
  return total;
}

function rule(id: string, pattern: string, extra = ''): string {
  return `  - id: ${id}\n    on: message\n    when:\n      is_dm: false\n${extra}      text: { matches: ${JSON.stringify(pattern)} }\n    do:\n      - reply: trial_again\n`;
}

/** A copy of the course in `dir`, with `edit` applied to a file's text. */
function course(dir: string, name: string, edits: Record<string, (t: string) => string> = {}): string {
  const cfg = join(dir, name);
  cpSync(COURSE, cfg, { recursive: true });
  for (const [file, edit] of Object.entries(edits)) writeFileSync(join(cfg, file), edit(readFileSync(join(cfg, file), 'utf8')));
  return cfg;
}

function problemsOf(dir: string): ReturnType<typeof formatProblem>[] | 'loaded' | Error {
  try {
    loadConfig(dir, { env: {} });
    return 'loaded';
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map(formatProblem);
    return e as Error;
  }
}

export const namesAndPatterns: AttackSuite = {
  name: 'names-and-patterns',
  title: 'evil rule regexes, coupon guessing over HTTP and chat, lesson files outside the config folder, control characters in names',
  async run() {
    const report: AttackReport = { tried: 0, lines: [], problems: [] };
    const dir = mkdtempSync(join(tmpdir(), 'kequn-hostile-names-'));
    try {
      checkPatterns(dir, report);
      checkLessonFiles(dir, report);
      const { app, clock, server } = await startEvil(dir, report);
      try {
        await regexUnderLoad(app, report);
        await couponGuesses(app, clock, server, report);
        await chatGuesses(app, clock, report);
        await hostileNames(app, clock, dir, report);
      } finally {
        await server.close();
        await app.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return report;
  },
};

/** `kequn check` on rules with patterns a linear-time engine cannot run: refused, located. */
function checkPatterns(dir: string, report: AttackReport): void {
  for (const [i, [pattern, says]] of REFUSED_PATTERNS.entries()) {
    report.tried++;
    const rules = readFileSync(join(COURSE, 'rules.yaml'), 'utf8') + rule(`evil-${i}`, pattern);
    const cfg = course(dir, `refuse-${i}`, { 'rules.yaml': () => rules });
    const t = performance.now();
    const r = problemsOf(cfg);
    const ms = performance.now() - t;
    if (r === 'loaded') report.problems.push(`check accepted ${JSON.stringify(pattern)}`);
    else if (r instanceof Error) report.problems.push(`check crashed on ${JSON.stringify(pattern)}: ${r.message}`);
    else {
      const line = rules.split('\n').findIndex((l) => l.includes(JSON.stringify(pattern))) + 1;
      const expected = new RegExp(`rules\\.yaml:${line} rules\\[\\d+\\]\\.when\\.text\\.matches: `);
      if (r.length !== 1 || !expected.test(r[0]!) || !says.test(r[0]!)) report.problems.push(`check on ${JSON.stringify(pattern)} said ${JSON.stringify(r)}, expected one problem at rules.yaml:${line} saying ${says}`);
      report.lines.push(`check ${JSON.stringify(pattern)}: ${r[0]?.replace(/^.*rules\.yaml/, 'rules.yaml').slice(0, 150)} (${Math.round(ms)} ms)`);
    }
    if (ms > 3000) report.problems.push(`check on ${JSON.stringify(pattern)} took ${Math.round(ms)} ms`);
  }
  // Patterns that together cost more than the limit: the one that goes over is refused.
  report.tried++;
  const over = Math.floor(MAX_TOTAL_REGEX_COST / 186) + 1;
  const many = Array.from({ length: over }, (_, i) => rule(`costly-${i}`, '[ab]*a[ab]{180}x')).join('');
  const r = problemsOf(course(dir, 'costly', { 'rules.yaml': (t) => t + many }));
  if (r === 'loaded' || r instanceof Error || !r.some((p) => /too costly together/.test(p))) report.problems.push(`${over} patterns of cost 186 (${MAX_TOTAL_REGEX_COST} allowed) were not refused: ${JSON.stringify(r)}`);
  else report.lines.push(`check ${over} patterns costing 186 each: ${r[0]!.replace(/^.*rules\.yaml/, 'rules.yaml').slice(0, 150)}`);
}

/** Lesson files that leave the config folder: refused by check, so never sent to anyone. */
function checkLessonFiles(dir: string, report: AttackReport): void {
  const secretDir = join(dir, 'outside');
  mkdirSync(secretDir);
  const secret = join(secretDir, 'passwd');
  writeFileSync(secret, 'root:x:0:0:SECRET-OUTSIDE-THE-COURSE\n');
  const cases: { name: string; file: string; setup?: (cfg: string) => void }[] = [
    { name: '../ climbing to a file outside', file: '../'.repeat(16) + secret.slice(1) },
    { name: '../../../../etc/passwd', file: '../../../../etc/passwd' },
    { name: 'absolute /etc/passwd', file: '/etc/passwd' },
    { name: 'absolute path of the secret', file: secret },
    { name: 'symlink to a file outside', file: 'lessons/evil.md', setup: (cfg) => symlinkSync(secret, join(cfg, 'lessons/evil.md')) },
    { name: 'symlinked folder leading outside', file: 'shared/passwd', setup: (cfg) => symlinkSync(secretDir, join(cfg, 'shared')) },
    { name: 'symlink to /etc/passwd', file: 'lessons/pw.md', setup: (cfg) => symlinkSync('/etc/passwd', join(cfg, 'lessons/pw.md')) },
    { name: 'a folder', file: 'lessons' },
    {
      name: 'a FIFO (would block a reader)',
      file: 'lessons/fifo.md',
      setup: (cfg) => {
        if (spawnSync('mkfifo', [join(cfg, 'lessons/fifo.md')]).status !== 0) mkdirSync(join(cfg, 'lessons/fifo.md'));
      },
    },
  ];
  for (const [i, c] of cases.entries()) {
    report.tried++;
    const cfg = course(dir, `lesson-${i}`, { 'kequn.yaml': (t) => t.replace('file: lessons/02-basics.md', `file: ${JSON.stringify(c.file)}`) });
    c.setup?.(cfg);
    const t = performance.now();
    const r = problemsOf(cfg);
    const ms = performance.now() - t;
    if (r === 'loaded') report.problems.push(`lesson file ${c.name}: the config loaded (the lesson would be sent to newcomers)`);
    else if (r instanceof Error) report.problems.push(`lesson file ${c.name}: crashed: ${r.message}`);
    else if (!(r.length === 1 && /kequn\.yaml:\d+ lessons\[1\]\.file: /.test(r[0]!))) report.problems.push(`lesson file ${c.name}: ${JSON.stringify(r)}`);
    else report.lines.push(`lesson file ${c.name}: ${r[0]!.replace(/^.*kequn\.yaml/, 'kequn.yaml').slice(0, 150)}`);
    if (ms > 3000) report.problems.push(`lesson file ${c.name}: check took ${Math.round(ms)} ms`);
  }
}

/** A running kequn whose rules hold every evil pattern the cost limit lets through (group messages only). */
async function startEvil(dir: string, report: AttackReport): Promise<{ app: App; clock: VirtualClock; server: WebServer }> {
  // The demo's own patterns use some of the limit; the evil ones get the rest.
  let budget = MAX_TOTAL_REGEX_COST - regexCost(loadConfig(COURSE, { env: {} }).rules.map((r) => r.when));
  const accepted: string[] = [];
  for (const p of EVIL_PATTERNS) {
    const c = compileLinearRegex(p, { ignoreCase: true });
    if (c.ok && c.regex.cost <= budget) {
      accepted.push(p);
      budget -= c.regex.cost;
    }
  }
  const cfg = course(dir, 'running', { 'rules.yaml': (t) => t + accepted.map((p, i) => rule(`evil-running-${i}`, p)).join('') });
  const dbPath = join(dir, 'running.db');
  const config = loadConfig(cfg, { env: { KEQUN_DATA: dbPath } });
  report.lines.push(`running kequn with ${accepted.length} evil patterns in its rules (${config.rules.length} rules in all)`);
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const server = await startWebServer(createWebApp({ app, clock, log: silentLogger }), { host: '127.0.0.1', port: 0 });
  return { app, clock, server };
}

/** Messages built against the patterns, through the simulated WeChat; the event loop is watched throughout. */
async function regexUnderLoad(app: App, report: AttackReport): Promise<void> {
  const sim = app.sim!;
  const room = 'python-101@chatroom';
  sim.user('redos', 'ReDoS');
  const joined = new Promise((r) => app.kernel.once('handled', r));
  sim.join('redos', room);
  await joined;
  const r = seededRandom(5);
  const n = MAX_TEXT_CHARS;
  const texts: [string, string][] = [
    ['a×4000 + !', 'a'.repeat(n - 1) + '!'],
    ['random a/b', Array.from({ length: n }, () => (r() < 0.5 ? 'a' : 'b')).join('')],
    ['random a/b again', Array.from({ length: n }, () => (r() < 0.5 ? 'a' : 'b')).join('')],
    ['x×4000', 'x'.repeat(n)],
    ['words and spaces', 'abc '.repeat(n / 4)],
    ['打卡 × 2000', '打卡'.repeat(n / 2)],
    ['CJK', '长'.repeat(n)],
    ['a×1 MB (cut to 4,000 by the adapter)', 'a'.repeat(1 << 20)],
    ['mixed', 'aB 学x1\n'.repeat(n / 7)],
  ];
  // A heartbeat every 5 ms: the longest gap between two beats is the longest the loop was held
  // (perf_hooks' monitorEventLoopDelay missed a 340 ms block here).
  let lastBeat = performance.now();
  let longest = 0;
  const beat = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - lastBeat);
    lastBeat = now;
  }, 5);
  try {
    for (const [name, text] of texts) {
      report.tried++;
      await new Promise((res2) => setTimeout(res2, 20));
      longest = 0;
      lastBeat = performance.now();
      const handled = new Promise<{ status: string }>((res) => app.kernel.once('handled', (_e, result) => res(result)));
      const t = performance.now();
      sim.say('redos', { roomId: room }, text);
      const res = await Promise.race([handled, new Promise<undefined>((res2) => setTimeout(res2, 20_000))]);
      const ms = performance.now() - t;
      // A few more beats, so a stall at the end of handling is measured.
      await new Promise((res2) => setTimeout(res2, 20));
      const stall = longest;
      if (!res) report.problems.push(`regex message ${name}: not handled within 20 s`);
      if (stall > MAX_STALL_MS) report.problems.push(`regex message ${name}: the event loop stalled ${Math.round(stall)} ms (bound ${MAX_STALL_MS} ms)`);
      report.lines.push(`regex message ${name} (${text.length} chars): ${res?.status ?? 'not handled'} in ${Math.round(ms)} ms, longest event-loop stall ${Math.round(stall)} ms (bound ${MAX_STALL_MS})`);
    }
  } finally {
    clearInterval(beat);
  }
}

/** 700 guesses at one checkout page over real HTTP, the real codes far down the list. */
async function couponGuesses(app: App, clock: VirtualClock, server: WebServer, report: AttackReport): Promise<void> {
  await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: 'names-buy', at: clock.now(), chat: { kind: 'dm' }, user: { id: 'coupon-guesser', name: 'Guesser' }, text: '/buy', mentionsBot: false, contentKind: 'text' });
  const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', 'coupon-guesser')!.id, ['created'])!;
  const list = guessList();
  const answers = new Map<string, number>();
  let foundAt = -1;
  const t = performance.now();
  for (const [i, code] of list.entries()) {
    report.tried++;
    const r = await fetch(`${server.url}/pay/${order.token}/code`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code }).toString() });
    const where = (r.headers.get('location') ?? `status ${r.status}`).replace(order.token, '<token>');
    answers.set(where, (answers.get(where) ?? 0) + 1);
    if (foundAt < 0 && getOrder(app.db, order.id)!.code !== null) foundAt = i;
  }
  const after = getOrder(app.db, order.id)!;
  if (foundAt >= 0) report.problems.push(`coupon guessing over HTTP found ${after.code} at guess ${foundAt + 1}`);
  if (after.amount !== order.list_amount) report.problems.push(`coupon guessing over HTTP changed the price to ${after.amount}`);
  report.lines.push(`coupon guesses over HTTP: ${list.length} in ${Math.round(performance.now() - t)} ms, answers ${JSON.stringify(Object.fromEntries(answers))}; price ${after.amount} (list ${order.list_amount}), code ${after.code}`);
}

/** The same guesses said to the bot privately: no discount, and a real code answered like a wrong one. */
async function chatGuesses(app: App, clock: VirtualClock, report: AttackReport): Promise<void> {
  const list = guessList();
  const member = () => findMemberByIdentity(app.db, 'wechat', 'chat-guesser');
  const replies = new Map<string, string[]>();
  let last = (app.db.prepare('SELECT COALESCE(MAX(id), 0) FROM outbox').pluck().get() as number) ?? 0;
  for (const [i, code] of list.entries()) {
    report.tried++;
    const text = i % 3 === 0 ? code : i % 3 === 1 ? `优惠码 ${code}` : `/buy python-vip ${code}`;
    await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: `names-chat-${i}`, at: clock.now(), chat: { kind: 'dm' }, user: { id: 'chat-guesser', name: 'ChatGuesser' }, text, mentionsBot: false, contentKind: 'text' });
    const rows = app.db.prepare('SELECT id, text FROM outbox WHERE id > ? AND member_id = ? ORDER BY id').all(last, member()!.id) as { id: number; text: string }[];
    last = (app.db.prepare('SELECT COALESCE(MAX(id), 0) FROM outbox').pluck().get() as number) ?? last;
    replies.set(code, rows.map((r) => r.text.split(code).join('<code>')));
  }
  const withCode = app.db.prepare("SELECT COUNT(*) FROM orders WHERE member_id = ? AND (code IS NOT NULL OR discounts != '[]')").pluck().get(member()!.id) as number;
  if (withCode > 0) report.problems.push(`coupon guessing through chat: ${withCode} orders with a code or discount`);
  // What a wrong code of the same form got: a real code must get nothing different.
  const realIdx = [400, 650];
  for (const i of realIdx) {
    const code = list[i]!;
    const twin = list[i + 3]!; // same message form (i % 3), a wrong code
    if (JSON.stringify(replies.get(code)) !== JSON.stringify(replies.get(twin))) {
      report.problems.push(`coupon guessing through chat: ${code} answered ${JSON.stringify(replies.get(code))}, a wrong code ${JSON.stringify(replies.get(twin))}`);
    }
  }
  report.lines.push(`coupon guesses through chat: ${list.length} private messages, orders with a code or discount ${withCode}; EARLY50 and VIP10 answered like wrong codes`);
}

function guessList(): string[] {
  const words = ['SALE', 'VIP', 'EARLY', 'NEW', 'SPRING', 'PY', 'CODE', 'GIFT', 'FREE', 'OFF'];
  const list = Array.from({ length: 700 }, (_, i) => `${words[i % words.length]}${i % 100 === 50 || i % 100 === 10 ? i + 1000 : i}`);
  list[400] = 'EARLY50';
  list[650] = 'VIP10';
  return list;
}

/** Members with hostile names join and speak; then the real CLI entry prints `why` and `member export`. */
async function hostileNames(app: App, clock: VirtualClock, dir: string, report: AttackReport): Promise<void> {
  const sim = app.sim!;
  const ids: string[] = [];
  for (const [i, name] of HOSTILE_NAMES.entries()) {
    report.tried++;
    sim.user(`hostile-name-${i}`, name);
    const joined = new Promise((r) => app.kernel.once('handled', r));
    sim.join(`hostile-name-${i}`, 'python-101@chatroom');
    await joined;
    const m = findMemberByIdentity(app.db, 'wechat', `hostile-name-${i}`)!;
    if (RAW.test(m.display_name)) report.problems.push(`name ${JSON.stringify(name)} stored as ${JSON.stringify(m.display_name)}`);
    ids.push(m.id);
  }
  await app.kernel.runUntil(clock.now() + 60_000);
  // One stored raw, as a kequn before normalisation would have: the CLI must still not print it raw.
  report.tried++;
  app.db.prepare('UPDATE members SET display_name = ? WHERE id = ?').run(HOSTILE_NAMES[2]! + '\r\n' + HOSTILE_NAMES[0]!, ids[0]!);
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const env = { KEQUN_DATA: process.env.KEQUN_DATA };
  process.env.KEQUN_DATA = join(dir, 'running.db');
  // The CLI's own entry (its `write`), printing into this buffer instead of the terminal.
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    for (const id of ids) {
      await main(['why', id, '--config', join(dir, 'running')]);
      await main(['member', 'export', id, '--config', join(dir, 'running')]);
    }
    await main(['why', 'hostile', '--config', join(dir, 'running')]);
  } finally {
    process.stdout.write = write;
    if (env.KEQUN_DATA === undefined) delete process.env.KEQUN_DATA;
    else process.env.KEQUN_DATA = env.KEQUN_DATA;
  }
  const printed = out.join('');
  const raw = printed.match(new RegExp(RAW.source, 'g')) ?? [];
  if (raw.length > 0) report.problems.push(`kequn why / member export printed ${raw.length} raw control, bidi or invisible characters: ${JSON.stringify([...new Set(raw)])}`);
  report.lines.push(`names: ${HOSTILE_NAMES.length} hostile names stored clean; kequn why + member export printed ${printed.length} characters, raw control/bidi/invisible characters ${raw.length}`);
}
