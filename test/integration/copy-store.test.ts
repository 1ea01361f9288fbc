import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { sourceTables } from '../../src/store/copy-store.js';
import { openStore, sqliteOf, type Db } from '../../src/store/db.js';
import { appendEvent } from '../../src/store/events.js';
import { enqueueMessage } from '../../src/store/outbox.js';
import { parseScenario } from '../../src/testing/scenario-schema.js';
import { runScenario } from '../../src/testing/runner.js';
import { freshPgUrl, pgAdminUrl } from '../helpers/store.js';

// `kequn copy-store`: a SQLite store seeded by playing conversation tests (a referral purchase:
// orders, payment notifications, a refund, referral ledger; a check-in week) copied into a fresh
// PostgreSQL database by the real CLI. The refusals run everywhere (they stop before connecting
// to the target); the copy itself needs a server (KEQUN_TEST_PG_URL, as test/unit/postgres.test.ts).
let dir: string;
let source: string;

function kequn(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, DATABASE_URL: '' } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

/** A variant of the source in a file of its own, changed by `sql`. */
function sourceVariant(name: string, sql: string): string {
  const file = join(dir, name);
  copyFileSync(source, file);
  const db = new Database(file);
  db.exec(sql);
  db.close();
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kequn-copy-'));
  source = join(dir, 'kequn.db');
  for (const f of ['test/scenarios/referral-purchase.yaml', 'test/scenarios/checkin-week.yaml']) {
    const { scenario } = parseScenario(f);
    const outcome = await runScenario(scenario!, loadConfig('test/fixtures/course'), { dbPath: source });
    expect(outcome.ok, outcome.failure).toBe(true);
  }
  // One file without its WAL, so copyFileSync makes whole copies.
  const db = new Database(source);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Nothing listens on port 1: a refusal that reached the target would say "cannot connect". */
const NOWHERE = 'postgres://kequn:s3cret@127.0.0.1:1/kequn';

describe('kequn copy-store refuses before touching anything', () => {
  it('while a live kequn holds the SQLite store', async () => {
    writeFileSync(`${source}.lock`, `${process.pid}\n`); // this test process is alive
    try {
      const r = await kequn(['copy-store', '--from', `sqlite:${source}`, '--to', NOWHERE]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`refused: kequn (pid ${process.pid}) is running on ${source}; stop it first`);
      expect(r.stdout).not.toContain('s3cret');
    } finally {
      rmSync(`${source}.lock`, { force: true });
    }
  }, 20_000);

  it('a source from a newer kequn, an older source, a missing file, bad arguments', async () => {
    const newer = sourceVariant('newer.db', "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
    expect(await kequn(['copy-store', '--from', newer, '--to', NOWHERE])).toMatchObject({ code: 1, stdout: expect.stringContaining('has schema migrations 999 this kequn does not know') });
    const older = sourceVariant('older.db', 'DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)');
    const r = await kequn(['copy-store', '--from', older, '--to', NOWHERE]);
    expect(r).toMatchObject({ code: 1, stdout: expect.stringContaining('is at an older schema') });
    expect(r.stdout).toContain(`KEQUN_DATA=${older} npx kequn migrate`);
    expect(await kequn(['copy-store', '--from', join(dir, 'nope.db'), '--to', NOWHERE])).toMatchObject({ code: 1, stdout: expect.stringContaining('no SQLite store at') });
    expect(await kequn(['copy-store', '--from', source])).toMatchObject({ code: 2, stdout: expect.stringContaining('usage: kequn copy-store') });
    expect(await kequn(['copy-store', '--from', source, '--to', source])).toMatchObject({ code: 1, stdout: expect.stringContaining('--to must be a postgres://') });
  }, 30_000);
});

describe.skipIf(!pgAdminUrl)('kequn copy-store into PostgreSQL (KEQUN_TEST_PG_URL)', () => {
  /** Row counts of every copied table. */
  function counts(db: Db, tables: string[]): Record<string, number> {
    return Object.fromEntries(tables.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
  }
  const withPassword = (url: string) => {
    const u = new URL(url);
    u.password = 's3cret'; // trust auth on the test server ignores it; it must never be printed
    return u.toString();
  };

  it('copies every table, verifies, moves the sequences, and refuses a second copy', async () => {
    const target = withPassword(freshPgUrl());
    const r = await kequn(['copy-store', '--from', `sqlite:${source}`, '--to', target]);
    expect(r.stdout).not.toContain('s3cret');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/copied \d+ tables, \d+ rows in [\d.]+ s .*schema \d+; row counts verified/);

    const src = openStore(source, { migrate: false });
    const pg = openStore(target, { migrate: false });
    try {
      const tables = sourceTables(sqliteOf(src));
      const before = counts(src, tables);
      expect(counts(pg, tables)).toEqual(before);
      expect(before.members).toBeGreaterThan(2);
      expect(before.orders).toBeGreaterThan(0);
      expect(before.payment_notifications).toBeGreaterThan(0);
      expect(before.referral_ledger).toBeGreaterThan(0);
      // Exact rows: the same values with the same JS types (numbers stay numbers, NULLs stay NULL).
      // Sorted here, not by ORDER BY: PostgreSQL's collation may order text keys differently.
      const rowsOf = (db: Db, table: string) => db.prepare(`SELECT * FROM ${table}`).all().sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      for (const table of ['members', 'orders', 'outbox', 'referral_ledger', 'checkins', 'payment_notifications']) {
        expect(rowsOf(pg, table), table).toEqual(rowsOf(src, table));
      }
      const paid = pg.prepare("SELECT * FROM orders WHERE state = 'paid' OR state = 'refunded' ORDER BY id").all();
      expect(paid.length).toBeGreaterThan(0);

      // The identities moved past the copied ids: new rows get fresh ids, no collision.
      const maxEvent = (src.prepare('SELECT max(id) AS m FROM events').get() as { m: number }).m;
      const maxOutbox = (src.prepare('SELECT max(id) AS m FROM outbox').get() as { m: number }).m;
      const eventId = appendEvent(pg, { type: 'message', platform: 'wechat', dedupeKey: 'after-copy-1', memberId: null, groupId: null, payload: {}, at: 1 });
      expect(eventId).toBe(maxEvent + 1);
      const outboxId = enqueueMessage(pg, { platform: 'wechat', chatKind: 'dm', chatId: 'wx-x', memberId: null, groupId: null, text: 'hi', priority: 'push', notBefore: 1, eventId: eventId!, ruleId: null, dryRun: false, now: 1, budget: null });
      expect(outboxId).toBe(maxOutbox + 1);

      // A second copy into the now non-empty target is refused and changes nothing.
      const after = counts(pg, tables);
      const again = await kequn(['copy-store', '--from', source, '--to', target]);
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(/refused: postgres:\/\/kequn:\*\*\*@.* is not empty: .*events.*members.*orders.*outbox.* have rows/);
      expect(counts(pg, tables)).toEqual(after);
    } finally {
      src.close();
      pg.close();
    }
  }, 60_000);

  it('a failure half-way leaves the target empty (one transaction)', async () => {
    // A late table (by dependency order) holds a value PostgreSQL's BIGINT column refuses.
    const broken = sourceVariant('broken.db', "UPDATE rule_traces SET at = 'not a time' WHERE id = (SELECT max(id) FROM rule_traces)");
    const target = freshPgUrl();
    const r = await kequn(['copy-store', '--from', broken, '--to', target]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('copy failed, no rows were written to the target');
    const src = openStore(broken, { migrate: false });
    const pg = openStore(target, { migrate: false });
    try {
      const tables = sourceTables(sqliteOf(src));
      expect(Object.values(counts(pg, tables)).every((n) => n === 0)).toBe(true);
      // ...and the identities were not moved either (ALTER ... RESTART is rolled back with the rest).
      expect(appendEvent(pg, { type: 'message', platform: 'wechat', dedupeKey: 'x', memberId: null, groupId: null, payload: {}, at: 1 })).toBe(1);
    } finally {
      src.close();
      pg.close();
    }
  }, 60_000);
});
