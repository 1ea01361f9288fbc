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
      out += `$${++n}`;
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
      out += `$${k}`;
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
  private prepared: string | null | undefined;

  constructor(
    private readonly db: PostgresDb,
    readonly source: string,
    private readonly compiled: Compiled,
    private readonly mode: RowMode = 'object',
  ) {}

  raw(on = true): PgStatement {
    return this.withMode(on ? 'raw' : 'object');
  }

  pluck(on = true): PgStatement {
    return this.withMode(on ? 'pluck' : 'object');
  }

  private withMode(mode: RowMode): PgStatement {
    if (mode === this.mode) return this;
    const s = new PgStatement(this.db, this.source, this.compiled, mode);
    s.prepared = this.prepared;
    return s;
  }

  get(...params: unknown[]): unknown {
    this.execute(params);
    return this.db.rowsOf(this.mode, 1)[0];
  }

  all(...params: unknown[]): unknown[] {
    this.execute(params);
    return this.db.rowsOf(this.mode, Infinity);
  }

  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.all(...params)[Symbol.iterator]();
  }

  run(...params: unknown[]): RunResult {
    this.execute(params);
    return { changes: Number(this.db.pq.cmdTuples() || 0), lastInsertRowid: 0 };
  }

  private values(params: unknown[]): (string | null)[] {
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

  private execute(params: unknown[]): void {
    this.db.assertOpen();
    const values = this.values(params);
    if (this.prepared === undefined) this.prepared = this.db.prepareOnServer(this.compiled.text, this.compiled.count, this.source);
    this.db.roundTrips++;
    if (this.prepared === null) this.db.pq.execParams(this.compiled.text, values);
    else this.db.pq.execPrepared(this.prepared, values);
    this.db.check(this.source);
  }
}

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
    this.roundTrips++;
    this.pq.exec(sql);
    this.check(sql);
    return this;
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
      this.exec(level === 0 ? 'BEGIN' : `SAVEPOINT ${savepoint}`);
      this.depth = level + 1;
      let result: ReturnType<F>;
      try {
        result = fn(...args) as ReturnType<F>;
        if (result instanceof Promise) throw new TypeError('Transaction function cannot return a promise');
      } catch (e) {
        this.depth = level;
        this.exec(level === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
        throw e;
      }
      // A failed COMMIT ends the transaction too (PostgreSQL rolls it back).
      this.depth = level;
      this.exec(level === 0 ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`);
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

  /** @internal Prepares `text` once on the server; null when over the cap (runs unnamed). */
  prepareOnServer(text: string, count: number, source: string): string | null {
    if (this.preparedCount >= MAX_PREPARED) return null;
    const name = `k${++this.preparedCount}`;
    this.roundTrips++;
    this.pq.prepare(name, text, count);
    this.check(source);
    return name;
  }

  /** @internal Throws the last command's error, if any. */
  check(sql: string): void {
    const message = this.pq.resultErrorMessage() || this.pq.errorMessage();
    if (!message) return;
    const fields = this.pq.resultErrorFields();
    throw new PostgresError(`${message.trim()} (in: ${sql.trim().slice(0, 300)})`, fields?.sqlState, sql);
  }

  /** @internal The last result's rows as objects (or arrays in raw mode), numbers parsed. */
  rowsOf(mode: RowMode, limit: number): unknown[] {
    const pq = this.pq;
    const n = Math.min(pq.ntuples(), limit);
    const nf = pq.nfields();
    const names: string[] = [];
    const parsers: ((v: string) => unknown)[] = [];
    for (let j = 0; j < nf; j++) {
      names.push(pq.fname(j));
      parsers.push(PARSERS[pq.ftype(j)] ?? ((v: string) => v));
    }
    const rows: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (mode === 'pluck') {
        rows[i] = nf === 0 || pq.getisnull(i, 0) ? null : parsers[0]!(pq.getvalue(i, 0));
      } else if (mode === 'raw') {
        const row: unknown[] = new Array(nf);
        for (let j = 0; j < nf; j++) row[j] = pq.getisnull(i, j) ? null : parsers[j]!(pq.getvalue(i, j));
        rows[i] = row;
      } else {
        const row: Record<string, unknown> = {};
        for (let j = 0; j < nf; j++) row[names[j]!] = pq.getisnull(i, j) ? null : parsers[j]!(pq.getvalue(i, j));
        rows[i] = row;
      }
    }
    return rows;
  }
}
