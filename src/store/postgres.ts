import { createRequire } from 'node:module';
import type PgNativeClient from 'pg-native';
import type { Db, RunResult, Statement } from './handle.js';
import { redactUrl } from './url.js';

/**
 * The PostgreSQL backend: the same synchronous `Db` the store's functions use on SQLite, over
 * one libpq connection (pg-native). Synchronous on purpose: the engine evaluates an event's rules
 * inside one transaction without awaiting, and a loopback query costs ~50 µs.
 *
 * What it translates so the store's SQL stays one text for both backends:
 * - `?` and `@name` placeholders become `$1..$n` (outside string literals, identifiers, comments);
 * - results come back as SQLite would give them: int8/numeric as numbers (ms timestamps and
 *   counts), booleans as 1/0 (SQLite has no booleans; `x IS NULL` yields 1 or 0 there);
 * - `db.transaction(fn)` nests with savepoints, like better-sqlite3.
 */

export class PostgresError extends Error {
  constructor(
    message: string,
    /** SQLSTATE, e.g. 23505 for a unique violation. */
    readonly code: string | undefined,
    readonly sql: string,
  ) {
    super(message);
  }
}

/**
 * Errors that only mean another process got there first: a unique key it inserted a moment
 * earlier (two instances meeting a new member at once), a deadlock, a serialization failure. The
 * transaction was rolled back; running it again sees the other's commit.
 */
export function isTransientConflict(e: unknown): boolean {
  return e instanceof PostgresError && (e.code === '23505' || e.code === '40P01' || e.code === '40001');
}

/** Rows as objects (default), arrays of values (raw) or the first value (pluck). */
type RowMode = 'object' | 'raw' | 'pluck';

interface Compiled {
  text: string;
  /** For `@name` placeholders: the name of each $n, in order. */
  names: string[] | null;
  count: number;
}

/** Rewrites `?` and `@name` placeholders to `$n`, skipping quoted text and comments. */
export function compilePlaceholders(sql: string): Compiled {
  return rewritePlaceholders(sql, (k) => `$${k}`);
}

function rewritePlaceholders(sql: string, placeholder: (k: number) => string): Compiled {
  let out = '';
  let n = 0;
  const names: string[] = [];
  const byName = new Map<string, number>();
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += placeholder(++n);
      i++;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const m = /^[A-Za-z_]\w*/.exec(sql.slice(i + 1))!;
      const name = m[0];
      let k = byName.get(name);
      if (k === undefined) {
        names.push(name);
        k = names.length;
        byName.set(name, k);
      }
      out += placeholder(k);
      i += 1 + name.length;
    } else {
      out += c;
      i++;
    }
  }
  if (n > 0 && names.length > 0) throw new Error(`mixed ? and @name placeholders in: ${sql}`);
  return { text: out, names: names.length > 0 ? names : null, count: n + names.length };
}

const toNumber = (v: string): number => Number(v);
/** Result parsers by type OID; anything else comes back as the text PostgreSQL sent. */
const PARSERS: Record<number, (v: string) => unknown> = {
  16: (v) => (v === 't' ? 1 : 0), // bool
  20: toNumber, // int8
  21: toNumber, // int2
  23: toNumber, // int4
  26: toNumber, // oid
  700: toNumber, // float4
  701: toNumber, // float8
  1700: toNumber, // numeric (SUM of int8, AVG)
};

function param(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  throw new TypeError(`cannot bind a ${typeof v} to a PostgreSQL parameter`);
}

/** Server-side prepared statements per connection, at most (dynamic SQL beyond runs unnamed). */
const MAX_PREPARED = 2000;

class PgStatement implements Statement {
  /**
   * The server-side name, shared by this statement's row modes: `stmt(db, sql).pluck()` makes a
   * new object per call, and one that prepared on its own sent a PREPARE each time (a request,
   * and a prepared statement left on the server until the cap).
   */
  private readonly server: ServerName;

  constructor(
    private readonly db: PostgresDb,
    readonly source: string,
    private readonly compiled: Compiled,
    private readonly mode: RowMode = 'object',
    server?: ServerName,
  ) {
    this.server = server ?? { prepared: undefined, parsed: false };
  }

  raw(on = true): PgStatement {
    return this.withMode(on ? 'raw' : 'object');
  }

  pluck(on = true): PgStatement {
    return this.withMode(on ? 'pluck' : 'object');
  }

  private withMode(mode: RowMode): PgStatement {
    if (mode === this.mode) return this;
    return new PgStatement(this.db, this.source, this.compiled, mode, this.server);
  }

  get(...params: unknown[]): unknown {
    return shapeRows(this.result(params), this.mode, 1)[0];
  }

  all(...params: unknown[]): unknown[] {
    return shapeRows(this.result(params), this.mode, Infinity);
  }

  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.all(...params)[Symbol.iterator]();
  }

  run(...params: unknown[]): RunResult {
    return { changes: this.result(params).changes, lastInsertRowid: 0 };
  }

  /** @internal The parameters as libpq takes them, in $n order. */
  values(params: unknown[]): (string | null)[] {
    const { names, count } = this.compiled;
    if (names) {
      const obj = (params[0] ?? {}) as Record<string, unknown>;
      return names.map((n) => {
        if (!(n in obj)) throw new RangeError(`missing named parameter "${n}"`);
        return param(obj[n]);
      });
    }
    if (params.length !== count) throw new RangeError(`${count} parameters expected, got ${params.length}: ${this.source}`);
    return params.map(param);
  }

  /** @internal This statement with these values, as one item of a request (prepared on the server first, once). */
  item(values: (string | null)[]): Queued {
    this.db.assertOpen();
    const server = this.server;
    if (server.prepared === undefined) server.prepared = this.db.nameOnServer();
    return { text: this.compiled.text, name: server.prepared, values, source: this.source, server, count: this.compiled.count };
  }

  /** @internal The result as the store reads it (rows, rows changed). */
  resultOf(params: unknown[]): Result {
    return this.result(params);
  }

  private result(params: unknown[]): Result {
    const values = this.values(params);
    const ahead = this.db.answer(this.source, values);
    if (ahead) return ahead;
    this.db.touched(this.source);
    const item = this.item(values);
    // Statements are waiting to go (a deferred BEGIN, writes): this one rides with them. Its
    // first run prepares it in the same request.
    if (this.db.hasQueued() || (item.name !== null && item.server?.parsed === false)) return this.db.sendQueued([item]).at(-1)!;
    this.db.roundTrips++;
    this.db.onRequest?.(this.source);
    const t = this.db.onWaited ? performance.now() : 0;
    if (item.name === null) this.db.pq.execParams(item.text, values);
    else this.db.pq.execPrepared(item.name, values);
    if (this.db.onWaited) this.db.onWaited(performance.now() - t);
    this.db.check(this.source);
    return this.db.capture();
  }
}

/** One statement of a request: a prepared statement (`name`), or text sent with its values. */
interface Queued {
  text: string;
  name: string | null;
  values: (string | null)[];
  source: string;
  /** A prepared statement's server-side state: the first request that runs it prepares it too. */
  server?: ServerName;
  count?: number;
}

/** A statement's name on the server (null: over the cap, sent as text), and whether the server has it yet. */
interface ServerName {
  prepared: string | null | undefined;
  parsed: boolean;
}

/** A statement's result, read off libpq: column names, rows as parsed values, rows changed. */
interface Result {
  names: string[];
  rows: unknown[][];
  changes: number;
}

/** Rows in a statement's row mode. */
function shapeRows(r: Result, mode: RowMode, limit: number): unknown[] {
  const n = Math.min(r.rows.length, limit);
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = r.rows[i]!;
    if (mode === 'raw') out[i] = row.slice();
    else if (mode === 'pluck') out[i] = row.length === 0 ? null : row[0];
    else {
      const o: Record<string, unknown> = {};
      for (let j = 0; j < row.length; j++) o[r.names[j]!] = row[j];
      out[i] = o;
    }
  }
  return out;
}

/** A read to load ahead (src/store/batch.ts): its statement, `?` values, and the tables it reads. */
export interface AheadRead {
  sql: string;
  params: unknown[];
  /** Tables whose writes make the loaded rows stale; a data-modifying statement's result is answered once. */
  tables: string[];
}

/**
 * A statement that is no part of the transactions around it (the cluster's heartbeat and upkeep,
 * src/bot/cluster.ts): it goes in front of the next transaction's first request, committed on its
 * own before that transaction begins (its own Sync in the pipeline: it neither waits for the
 * transaction nor is undone with it), and `done` gets its rows or its error, never thrown.
 */
export interface Rider {
  sql: string;
  params: unknown[];
  done: (r: { rows: Record<string, unknown>[]; changes: number } | { error: Error }) => void;
}

/** The table a data-modifying statement writes; null for a read, '*' when it cannot tell. */
export function writtenTable(sql: string): string | null {
  const m = /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)/i.exec(sql);
  if (m) return m[1]!.toLowerCase();
  return /^\s*(?:SELECT|SHOW)\b/i.test(sql) ? null : '*';
}

/** One statement that only steers the transaction: it may ride in a request with others, and leaves rows loaded ahead as they are. */
const CONTROL = /^\s*(?:BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b[^;]*$/i;

const control = (text: string): Queued => ({ text, name: null, values: [], source: text });

/** A `Db` on PostgreSQL. Open it with `openStore('postgres://...')`. */
export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly pq: PgNativeClient['pq'];
  private readonly client: PgNativeClient;
  private readonly statements = new Map<string, PgStatement>();
  private preparedCount = 0;
  private depth = 0;
  private closed = false;
  /** Requests sent to the server and waited for (statements, BEGIN/COMMIT, prepares): the bench's round trips per event. */
  roundTrips = 0;
  /** When set, told the text of every request (the bench's request log, BENCH_PP_TRACE). */
  onRequest: ((sql: string) => void) | undefined;
  /**
   * When set, told after each request how long the process waited for its answer, in ms (sent,
   * answered and read off libpq; the request's text went to `onRequest` just before):
   * bench/pipeline-processes.ts, where a message's time goes.
   */
  onWaited: ((ms: number) => void) | undefined;
  /**
   * Statements that go with the next request, in order: a transaction's BEGIN (it rides with
   * the first statement) and writes whose result nobody reads (`later`), which ride with the
   * next read or the COMMIT. Only inside a transaction, so nothing is lost: a failure in one of
   * them fails the request that carries it, and the transaction rolls back.
   */
  private queue: Queued[] = [];
  /** Requests sent on this connection: whether a queued BEGIN has gone yet. */
  private sent = 0;
  /**
   * Rows loaded ahead in this transaction (`prefetch`), by statement and values: answered from
   * memory until a write to a table they read (a data-modifying statement's rows: once). Emptied
   * when the transaction ends.
   */
  private readonly ahead = new Map<string, { result: Result; tables: string[]; once: boolean }>();
  /** Statements that go in front of the next transaction's first request, each committed on its own (`ride`). */
  private riders: { item: Queued; rider: Rider; done: Rider['done'] }[] = [];

  constructor(readonly url: string) {
    const require = createRequire(import.meta.url);
    let Client: typeof PgNativeClient;
    try {
      Client = require('pg-native') as typeof PgNativeClient;
    } catch (e) {
      throw new Error(`PostgreSQL needs the pg-native package (it builds against libpq: apt-get install libpq-dev, then npm install): ${(e as Error).message}`);
    }
    this.client = new Client();
    try {
      this.client.connectSync(url);
    } catch (e) {
      throw new Error(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${(e as Error).message.trim()}`);
    }
    this.pq = this.client.pq;
    // CREATE ... IF NOT EXISTS notices would otherwise go to stderr through libpq.
    this.exec('SET client_min_messages = warning');
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  prepare(sql: string): PgStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = new PgStatement(this, sql, compilePlaceholders(sql));
      this.statements.set(sql, s);
    }
    return s;
  }

  exec(sql: string): this {
    this.assertOpen();
    if (this.queue.length > 0) {
      // A COMMIT, a savepoint's end: one request with what waited. Anything else (several
      // statements of text) goes after it.
      if (CONTROL.test(sql)) {
        this.sendQueued([control(sql)]);
        return this;
      }
      this.sendQueued([]);
    }
    if (!CONTROL.test(sql)) this.ahead.clear();
    this.sent++;
    this.roundTrips++;
    this.onRequest?.(sql);
    const t = this.onWaited ? performance.now() : 0;
    this.pq.exec(sql);
    if (this.onWaited) this.onWaited(performance.now() - t);
    this.check(sql);
    return this;
  }

  /** @internal Whether statements wait to go with the next request. */
  hasQueued(): boolean {
    return this.queue.length > 0;
  }

  /**
   * @internal The queued statements and `items` as one request (libpq's pipeline mode: sent
   * together, answered together); the result of each, queued ones first. The first error is
   * thrown once every result is in (the statements after it were skipped by the server).
   */
  sendQueued(items: Queued[]): Result[] {
    const all = this.queue.length > 0 ? [...this.queue, ...items] : items;
    this.queue = [];
    // Riders go in front of a transaction's first request (nothing open on the server yet), or alone.
    const riders = this.riders.length > 0 && (all.length === 0 || (all[0]!.text === 'BEGIN' && this.pq.transactionStatus() === 0)) ? this.riders.splice(0) : [];
    const pq = this.pq;
    this.sent++;
    this.roundTrips++;
    const text = this.onRequest ? [...riders.map((r) => r.item), ...all].map((i) => (i.name !== null && i.server && !i.server.parsed ? `PREPARE ${i.source}\n; ${i.source}` : i.source)).join('\n; ') : '';
    this.onRequest?.(text);
    const t0 = this.onWaited ? performance.now() : 0;
    const answered: { done: Rider['done']; r: Parameters<Rider['done']>[0] }[] = [];
    /** Items whose statement is prepared in this request: the PREPARE's result comes before theirs. */
    const parses = new Set<Queued>();
    try {
      if (!pq.enterPipelineMode()) throw new PostgresError(`cannot batch statements: ${pq.errorMessage().trim()}`, undefined, all[0]?.source ?? '');
      const send = (it: Queued) => {
        if (it.name !== null && it.server && !it.server.parsed) {
          // Prepared in this request, just before its first run (no request of its own).
          if (!(pq as unknown as { sendPrepare(name: string, text: string, n: number): boolean }).sendPrepare(it.name, it.text, it.count ?? 0)) throw new PostgresError(`cannot send a statement: ${pq.errorMessage().trim()} (in: ${it.source.trim().slice(0, 300)})`, undefined, it.source);
          it.server.parsed = true;
          parses.add(it);
        }
        const ok = it.name !== null ? pq.sendQueryPrepared(it.name, it.values) : pq.sendQueryParams(it.text, it.values);
        if (!ok) throw new PostgresError(`cannot send a statement: ${pq.errorMessage().trim()} (in: ${it.source.trim().slice(0, 300)})`, undefined, it.source);
      };
      const sync = () => {
        if (!pq.pipelineSync()) throw new PostgresError(`cannot send a batch: ${pq.errorMessage().trim()}`, undefined, all[0]?.source ?? '');
      };
      // Each rider between Syncs of its own: its own implicit transaction, whatever the others do.
      for (const r of riders) {
        send(r.item);
        sync();
      }
      if (all.length > 0) {
        for (const it of all) send(it);
        sync();
      }
      for (const r of riders) {
        const one = this.readParsed(r.item, parses);
        answered.push({ done: r.done, r: one.failure ? { error: one.failure } : { rows: shapeRows(one.result, 'object', Infinity) as Record<string, unknown>[], changes: one.result.changes } });
        // The rider's Sync.
        if (pq.resultStatus() !== 'PGRES_PIPELINE_SYNC') pq.getResult();
      }
      const results: Result[] = [];
      let failure: PostgresError | undefined;
      for (const it of all) {
        const one = this.readParsed(it, parses);
        failure ??= one.failure;
        results.push(one.result);
      }
      // The sync's own result, then out of pipeline mode.
      if (all.length > 0 && pq.resultStatus() !== 'PGRES_PIPELINE_SYNC') pq.getResult();
      if (this.onWaited) this.onWaited(performance.now() - t0);
      // A connection left in pipeline mode would refuse every later statement: say so here.
      if (!pq.exitPipelineMode()) throw new PostgresError(`cannot leave the batch: ${pq.errorMessage().trim()}`, undefined, all[0]?.source ?? '');
      if (failure) throw failure;
      return results;
    } finally {
      // Told what became of them even when the request failed (a rider not answered: not done).
      for (let i = 0; i < riders.length; i++) {
        const a = answered[i];
        riders[i]!.done(a ? a.r : { error: new Error('not sent: the request it went with failed') });
      }
    }
  }

  /** @internal An item's result, after its PREPARE's when this request prepared it (not prepared: prepared again at its next run). */
  private readParsed(it: Queued, parses: Set<Queued>): { result: Result; failure?: PostgresError } {
    if (parses.has(it)) {
      const parsed = this.readResult(it);
      if (parsed.status !== 'PGRES_COMMAND_OK') it.server!.parsed = false;
      const one = this.readResult(it);
      return { result: one.result, failure: parsed.failure ?? one.failure };
    }
    return this.readResult(it);
  }

  /** @internal One statement's result in a pipeline (its error, if it failed: the statements after it in its Sync were skipped). */
  private readResult(it: Queued): { result: Result; failure?: PostgresError; status: string } {
    const pq = this.pq;
    pq.getResult();
    const status = pq.resultStatus();
    let failure: PostgresError | undefined;
    if (status === 'PGRES_FATAL_ERROR') {
      const fields = pq.resultErrorFields();
      failure = new PostgresError(`${pq.resultErrorMessage().trim()} (in: ${it.source.trim().slice(0, 300)})`, fields?.sqlState, it.source);
    }
    const result = status === 'PGRES_TUPLES_OK' || status === 'PGRES_COMMAND_OK' ? this.capture() : { names: [], rows: [], changes: 0 };
    // Each statement's results end with a null.
    while (pq.getResult() && pq.resultStatus() !== 'PGRES_PIPELINE_SYNC');
    return { result, failure, status };
  }

  /**
   * Statements of no transaction (`Rider`): they go in front of the next transaction's first
   * request, or with `sendRiders`. Each is prepared on the server first (once per connection).
   */
  ride(riders: Rider[]): void {
    for (const r of riders) {
      const s = this.prepare(r.sql);
      this.riders.push({ item: s.item(s.values(r.params)), rider: r, done: r.done });
    }
  }

  /**
   * Riders still waiting, sent now in one request. Inside a transaction (nothing calls it there
   * today) they run in it, one by one, as statements would.
   */
  sendRiders(): void {
    if (this.riders.length === 0) return;
    if (this.depth === 0 && this.queue.length === 0) {
      this.sendQueued([]);
      return;
    }
    for (const { rider, done } of this.riders.splice(0)) {
      let r: Parameters<Rider['done']>[0];
      try {
        const res = this.prepare(rider.sql).resultOf(rider.params);
        r = { rows: shapeRows(res, 'object', Infinity) as Record<string, unknown>[], changes: res.changes };
      } catch (e) {
        r = { error: e as Error };
      }
      done(r);
    }
  }

  /** Whether riders wait for a request to go with. */
  get riding(): number {
    return this.riders.length;
  }

  /**
   * A write whose result nobody reads: inside a transaction it goes with the next request (a
   * read, or the COMMIT); outside one, now.
   */
  later(sql: string, params: unknown[]): void {
    const s = this.prepare(sql);
    if (this.depth === 0) {
      s.run(...params);
      return;
    }
    this.touched(sql);
    this.queue.push(s.item(s.values(params)));
  }

  /**
   * Loads reads ahead, in one request (with whatever is queued): each statement's rows are kept
   * and answered when the same statement with the same values runs in this transaction, until a
   * write to a table it reads. A data-modifying statement (`INSERT ... RETURNING`) runs here,
   * and its rows answer it once. Outside a transaction: nothing (there is nowhere to keep them
   * consistent).
   */
  prefetch(reads: AheadRead[]): void {
    if (this.depth === 0 || reads.length === 0) return;
    const keyed: { key: string; tables: string[]; once: boolean; item: Queued }[] = [];
    const listed = new Set<string>();
    for (const r of reads) {
      const s = this.prepare(r.sql);
      const values = s.values(r.params);
      const once = writtenTable(r.sql) !== null;
      const key = `${r.sql}\u0000${JSON.stringify(values)}`;
      // A read already loaded and still fresh, or listed twice (the sender's role and channel,
      // which facts read too), is sent once: each one costs the server a statement.
      if (!once && (listed.has(key) || this.ahead.has(key))) continue;
      listed.add(key);
      if (once) this.touched(r.sql);
      keyed.push({ key, tables: r.tables, once, item: s.item(values) });
    }
    if (keyed.length === 0) return;
    const queued = this.queue.length;
    const results = this.sendQueued(keyed.map((k) => k.item));
    keyed.forEach((k, i) => this.ahead.set(k.key, { result: results[queued + i]!, tables: k.tables, once: k.once }));
  }

  /** @internal The rows loaded ahead for this statement and values, if any. */
  answer(source: string, values: (string | null)[]): Result | undefined {
    if (this.ahead.size === 0) return undefined;
    const key = `${source}\u0000${JSON.stringify(values)}`;
    const hit = this.ahead.get(key);
    if (hit?.once) this.ahead.delete(key);
    return hit?.result;
  }

  /** @internal A statement is about to run: rows loaded ahead from the table it writes are stale. */
  touched(source: string): void {
    if (this.ahead.size === 0) return;
    const table = writtenTable(source);
    if (table === null) return;
    if (table === '*') return this.ahead.clear();
    for (const [key, e] of this.ahead) if (!e.once && e.tables.includes(table)) this.ahead.delete(key);
  }

  /**
   * better-sqlite3's transaction(): the returned function runs `fn` in BEGIN/COMMIT, or in a
   * savepoint when a transaction is already open, and rolls back what `fn` did when it throws.
   */
  /* eslint-disable-next-line @typescript-eslint/no-explicit-any -- better-sqlite3's own signature */
  transaction<F extends (...args: any[]) => unknown>(fn: F): (...args: any[]) => ReturnType<F> {
    const run = (...args: Parameters<F>): ReturnType<F> => {
      const level = this.depth;
      const savepoint = `sp${level}`;
      // BEGIN (or the savepoint) waits in the queue: it rides with the first statement.
      const mark = this.queue.length;
      const sentBefore = this.sent;
      this.queue.push(control(level === 0 ? 'BEGIN' : `SAVEPOINT ${savepoint}`));
      this.depth = level + 1;
      let result: ReturnType<F>;
      try {
        result = fn(...args) as ReturnType<F>;
        if (result instanceof Promise) throw new TypeError('Transaction function cannot return a promise');
      } catch (e) {
        this.depth = level;
        this.ahead.clear();
        // Nothing of it reached the server: forgetting its queued statements undoes it.
        if (this.sent === sentBefore) this.queue.length = mark;
        else {
          // What is still queued was done inside it, after the last request: undone with it.
          this.queue = [];
          try {
            if (level === 0) this.exec('ROLLBACK');
            else this.sendQueued([control(`ROLLBACK TO SAVEPOINT ${savepoint}`), control(`RELEASE SAVEPOINT ${savepoint}`)]);
          } catch (undo) {
            // The request that failed stopped before the savepoint was made: the transaction is
            // aborted and the caller's rollback ends it. The first error is the one that matters.
            if (level === 0) throw undo;
          }
        }
        throw e;
      }
      this.depth = level;
      if (level > 0) {
        this.queue.push(control(`RELEASE SAVEPOINT ${savepoint}`));
        return result;
      }
      this.ahead.clear();
      // A transaction that neither read nor wrote: nothing to send.
      if (this.sent === sentBefore && this.queue.length === mark + 1) {
        this.queue.length = mark;
        return result;
      }
      try {
        this.exec('COMMIT');
      } catch (e) {
        // A queued write that failed stops the request before its COMMIT: the transaction is
        // still open (aborted) and must end here. A failed COMMIT itself ends it already.
        if (this.pq.transactionStatus() !== 0) {
          this.queue = [];
          this.exec('ROLLBACK');
        }
        throw e;
      }
      return result;
    };
    return run;
  }

  close(): this {
    if (this.closed) return this;
    this.closed = true;
    // libpq's binding watches the socket with a libuv handle that is closed asynchronously:
    // finishing now and connecting again in the same tick can reuse the socket's number under
    // the closing handle and abort node (uv__finish_close). Finishing on the next turn avoids it.
    setImmediate(() => this.client.end());
    return this;
  }

  /** @internal Like better-sqlite3: no statement after close() (the connection ends on the next turn). */
  assertOpen(): void {
    if (this.closed) throw new TypeError('The database connection is not open');
  }

  /** @internal A name for a statement on the server (prepared with its first run); null when over the cap (runs unnamed). */
  nameOnServer(): string | null {
    if (this.preparedCount >= MAX_PREPARED) return null;
    return `k${++this.preparedCount}`;
  }

  /** @internal Throws the last command's error, if any. */
  check(sql: string): void {
    const message = this.pq.resultErrorMessage() || this.pq.errorMessage();
    if (!message) return;
    const fields = this.pq.resultErrorFields();
    throw new PostgresError(`${message.trim()} (in: ${sql.trim().slice(0, 300)})`, fields?.sqlState, sql);
  }

  /** @internal The last result, read off libpq: rows as arrays of parsed values. */
  capture(): Result {
    const pq = this.pq;
    const n = pq.ntuples();
    const nf = pq.nfields();
    const names: string[] = new Array(nf);
    const parsers: ((v: string) => unknown)[] = new Array(nf);
    for (let j = 0; j < nf; j++) {
      names[j] = pq.fname(j);
      parsers[j] = PARSERS[pq.ftype(j)] ?? ((v: string) => v);
    }
    const rows: unknown[][] = new Array(n);
    for (let i = 0; i < n; i++) {
      const row: unknown[] = new Array(nf);
      for (let j = 0; j < nf; j++) row[j] = pq.getisnull(i, j) ? null : parsers[j]!(pq.getvalue(i, j));
      rows[i] = row;
    }
    return { names, rows, changes: Number(pq.cmdTuples() || 0) };
  }
}
