/**
 * Shared helpers for the unit tests: real config folders in temp dirs, an in-memory store with
 * the real migrations, the real Engine and Outbox on a VirtualClock, and a fake ChatAdapter
 * (the wire) that records what it is asked to send and can be told to fail.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatAdapter, ChatEvent, OutgoingMessage, Platform } from '../../src/bot/events.js';
import { Outbox } from '../../src/bot/outbox.js';
import { ConfigError, type ConfigProblem } from '../../src/config/errors.js';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import { Engine } from '../../src/core/engine.js';
import { buildServices, type Registry } from '../../src/core/registry.js';
import { registry as defaultRegistry } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import type { Db } from '../../src/store/db.js';
import type { Services } from '../../src/core/types.js';
import type { OutboxRow } from '../../src/store/outbox.js';
import { tracesOfEvent, type RuleTraceRow } from '../../src/store/traces.js';
import { openTestStore } from './store.js';

/**
 * The tests' own course (test/fixtures/course): a copy of the demo course as it was shipped,
 * frozen for the tests. config/ is the seller's to change; the code's tests never read it.
 */
export const DEMO_CONFIG_DIR = fileURLToPath(new URL('../fixtures/course', import.meta.url));

/** Monday 2 March 2026, 09:00 in Shanghai: daytime, outside the demo's quiet hours. */
export const T0 = Date.parse('2026-03-02T09:00:00+08:00');

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const tempDirs: string[] = [];

/**
 * Copies the demo config (or the course folder `from`) to a fresh temp dir, then applies `edits`: a file name maps to its new
 * content, to a function of its current text, or to null (the file is deleted).
 *
 * @example const dir = tempConfig({ 'rules.yaml': (t) => t.replace('welcome_dm', 'welcom') });
 */
export function tempConfig(edits: Record<string, string | Buffer | null | ((text: string) => string)> = {}, from = DEMO_CONFIG_DIR): string {
  const dir = tempDir('kequn-config-');
  cpSync(from, dir, { recursive: true });
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(dir, file);
    if (edit === null) rmSync(path);
    else if (typeof edit === 'function') writeFileSync(path, edit(readFileSync(path, 'utf8')));
    else writeFileSync(path, edit);
  }
  return dir;
}

/** A fresh empty temp dir, removed with the others by removeTempDirs. */
export function tempDir(prefix = 'kequn-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes the temp dirs made by tempConfig and tempDir (call in afterAll). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Replaces exactly one occurrence of `from` (fails loudly if the demo config changed under us). */
export function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`expected exactly one ${JSON.stringify(from)} in the file`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** 1-based line of the first line of `text` containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${JSON.stringify(needle)} not found`);
  return i + 1;
}

/** Loads `dir` expecting a ConfigError; returns its problems. */
export function loadProblems(dir: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    loadConfig(dir, { env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}

let demo: CourseConfig | undefined;

/** The demo config, loaded once per test file. */
export function demoConfig(): CourseConfig {
  demo ??= loadConfig(DEMO_CONFIG_DIR, { env: {} });
  return demo;
}

/**
 * The wire, faked: records every send with the clock time, and fails when told to.
 * `failWith` fails every send until cleared; `failNext` fails the next n sends.
 */
export class FakeAdapter implements ChatAdapter {
  readonly sent: (OutgoingMessage & { at: number })[] = [];
  /** Every call to send, including failed ones. */
  readonly attempts: { chatId: string; at: number; ok: boolean }[] = [];
  ready = true;
  failWith: (() => Error) | undefined;
  private failCount = 0;
  private failError: () => Error = () => new Error('send failed');

  constructor(
    private readonly clock: { now(): number },
    readonly platform: Platform = 'wechat',
  ) {}

  failNext(n: number, error: () => Error = () => new Error('send failed')): void {
    this.failCount = n;
    this.failError = error;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  isReady(): boolean {
    return this.ready;
  }

  async send(message: OutgoingMessage): Promise<void> {
    const at = this.clock.now();
    if (this.failWith || this.failCount > 0) {
      const err = this.failWith ? this.failWith() : this.failError();
      if (!this.failWith) this.failCount--;
      this.attempts.push({ chatId: message.chat.id, at, ok: false });
      throw err;
    }
    this.attempts.push({ chatId: message.chat.id, at, ok: true });
    this.sent.push({ ...message, at });
  }
}

export interface Harness {
  db: Db;
  clock: VirtualClock;
  /** The config the engine and outbox see; tests may replace it (`h.config = {...}`). */
  config: CourseConfig;
  engine: Engine;
  /** The services of the course (built once, as the kernel does at start). */
  services: Services;
  outbox: Outbox;
  adapter: FakeAdapter;
}

/**
 * The real Engine and Outbox on an in-memory store and a VirtualClock at `start`, with a fake
 * WeChat adapter. Jitter is fixed (random → 0) so pacing is exact.
 */
export function harness(opts: { config?: CourseConfig; start?: number; registry?: Registry; random?: () => number } = {}): Harness {
  const db = openTestStore();
  const clock = new VirtualClock(opts.start ?? T0);
  const adapter = new FakeAdapter(clock);
  const h = { db, clock, config: opts.config ?? demoConfig(), adapter } as Harness;
  const reg = opts.registry ?? defaultRegistry;
  // Built once per harness like the kernel does at start (a test that swaps h.config keeps them).
  const services = buildServices(reg, { db, config: h.config });
  h.services = services;
  h.engine = new Engine({ db, config: () => h.config, registry: reg, log: silentLogger, services: () => services });
  h.outbox = new Outbox({
    db,
    config: () => h.config,
    clock,
    adapters: new Map([['wechat', adapter]]),
    log: silentLogger,
    random: opts.random ?? (() => 0),
  });
  return h;
}

/** Advances the virtual clock by `ms`. */
export function advance(clock: VirtualClock, ms: number): number {
  clock.set(clock.now() + ms);
  return clock.now();
}

/**
 * Drives the outbox as the kernel does in virtual time: dispatch, then jump to the next moment a
 * message may go out, until nothing is pending before `until`.
 */
export async function drainOutbox(h: Harness, until: number): Promise<void> {
  for (let guard = 0; guard < 10_000; guard++) {
    const sent = await h.outbox.dispatch();
    const next = h.outbox.nextWakeAt();
    if (next === undefined || next > until) return;
    if (next > h.clock.now()) h.clock.set(next);
    else if (sent === 0) throw new Error(`drainOutbox: a message was due at ${next} but nothing was sent`);
  }
  throw new Error('drainOutbox: still sending after 10000 rounds');
}

export function outboxRows(db: Db): OutboxRow[] {
  return db.prepare('SELECT * FROM outbox ORDER BY id').all() as OutboxRow[];
}

export function count(db: Db, table: string, where = '1 = 1'): number {
  return (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;
}

const TRIAL_GROUP = { id: 'python-101@chatroom', name: 'Python 入门体验群' };

let seq = 0;
/** A unique platform event id. */
export function eventId(prefix: string): string {
  return `${prefix}:${++seq}`;
}

/**
 * A WeChat join. The Wechaty adapter says whether the newcomer is a friend of the account:
 * `channel` 'open' (the default, as the tests' people are friends unless they say otherwise),
 * 'closed' (a stranger) or 'unknown' (the puppet did not say).
 */
export function joined(
  user: string,
  opts: { at: number; group?: { id: string; name: string }; eventId?: string; name?: string; channel?: 'open' | 'closed' | 'unknown' },
): ChatEvent {
  const channel = opts.channel ?? 'open';
  return {
    type: 'member.joined',
    platform: 'wechat',
    eventId: opts.eventId ?? eventId(`join:${user}`),
    at: opts.at,
    group: opts.group ?? TRIAL_GROUP,
    user: { id: user, name: opts.name ?? user },
    ...(channel === 'unknown' ? {} : { channel }),
  };
}

export function left(user: string, opts: { at: number; group?: { id: string; name: string }; eventId?: string; name?: string }): ChatEvent {
  return {
    type: 'member.left',
    platform: 'wechat',
    eventId: opts.eventId ?? eventId(`leave:${user}`),
    at: opts.at,
    group: opts.group ?? TRIAL_GROUP,
    user: { id: user, name: opts.name ?? user },
  };
}

export function message(
  user: string,
  text: string,
  opts: { at: number; dm?: boolean; group?: { id: string; name: string }; eventId?: string; mentionsBot?: boolean },
): ChatEvent {
  return {
    type: 'message',
    platform: 'wechat',
    eventId: opts.eventId ?? eventId(`msg:${user}`),
    at: opts.at,
    chat: opts.dm ? { kind: 'dm' } : { kind: 'group', group: opts.group ?? TRIAL_GROUP },
    user: { id: user, name: user },
    text,
    mentionsBot: opts.mentionsBot ?? false,
    contentKind: 'text',
  };
}

/**
 * The traces of rule `ruleId` that fired, oldest first: an event's are kept in the event's own row
 * since issue 20 (read back through tracesOfEvent, as `kequn why` does), a job's in rule_traces.
 */
export function firedTraces(db: Db, ruleId: string): RuleTraceRow[] {
  const events = db.prepare('SELECT id FROM events WHERE unmatched IS NOT NULL UNION SELECT event_id AS id FROM rule_traces WHERE event_id IS NOT NULL ORDER BY 1').all() as { id: number }[];
  const ofEvents = events.flatMap((e) => tracesOfEvent(db, e.id));
  const ofJobs = db.prepare('SELECT * FROM rule_traces WHERE event_id IS NULL ORDER BY id').all() as RuleTraceRow[];
  return [...ofEvents, ...ofJobs].filter((t) => t.rule_id === ruleId && t.matched === 1).sort((a, b) => a.at - b.at);
}
