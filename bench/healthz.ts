/**
 * /healthz on a large store: 100,000 outbox rows, 100,000 jobs and 100,000 members (statuses
 * spread as a store that has run for months: mostly sent and done). Over real HTTP on 127.0.0.1,
 * alternating in the same run: /healthz as it is (status_counts, kept by triggers; migration 26)
 * and the same answer computed as it was before (COUNT(*) of members and GROUP BY status over the
 * outbox and jobs), a route this bench adds to the same server. With a PostgreSQL server
 * (KEQUN_TEST_PG_URL or Debian's PostgreSQL, bench/pg-cluster.ts) the two queries are also timed
 * there, in process. Run alone: npx tsx bench/healthz.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, loadConfig } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { OffsetClock } from '../src/core/schedule/clock.js';
import type { Db } from '../src/store/db.js';
import { openStore } from '../src/store/db.js';
import { jobCounts } from '../src/store/jobs.js';
import { countMembers } from '../src/store/members.js';
import { claimMessage, enqueueMessage, markSent, outboxCounts } from '../src/store/outbox.js';
import { ScratchDatabases } from '../src/store/pg-scratch.js';
import { compactDeltas, memberCount, statusCounts } from '../src/store/status-counts.js';
import { createWebApp, startWebServer } from '../src/web/server.js';
import { benchPostgres } from './pg-cluster.js';
import { pct, report, type BenchResult } from './report.js';

const ROWS = 100_000;
const GETS = 300;

/** Fills the store in one transaction; the triggers count as the rows go in. (Times inlined: PostgreSQL types a bare parameter in a CASE as text.) */
function fill(db: Db, now: number): void {
  const series = `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${ROWS})`;
  db.transaction(() => {
    db.prepare(
      `${series} INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) SELECT 'm' || i, 'm' || i, 'prospect', ${now}, ${now}, ${now} FROM s`,
    ).run();
    // 1 in 100 pending, 1 in 100 failed, the rest sent; spread over 1,000 chats.
    db.prepare(
      `${series} INSERT INTO outbox (platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, event_id, rule_id, created_at, sent_at)
       SELECT 'wechat', 'dm', 'u' || (i % 1000), 'm' || i, NULL, 'message ' || i, 'reply',
              CASE WHEN i % 100 = 0 THEN 'pending' WHEN i % 100 = 1 THEN 'failed' ELSE 'sent' END,
              ${now}, NULL, NULL, ${now}, CASE WHEN i % 100 > 1 THEN ${now} ELSE NULL END FROM s`,
    ).run();
    // 1 in 5 pending (drips and watches ahead), the rest done, skipped or cancelled.
    db.prepare(
      `${series} INSERT INTO jobs (kind, member_id, payload, due_at, status, dedupe_key, created_at)
       SELECT 'drip', 'm' || i, '{}', ${now}, CASE i % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'skipped' WHEN 2 THEN 'cancelled' ELSE 'done' END, 'bench:' || i, ${now} FROM s`,
    ).run();
  })();
}

/** The answer's counts as /healthz computed them before migration 26. */
function countedByHand(db: Db) {
  return { members: countMembers(db), outbox: outboxCounts(db), jobs: jobCounts(db) };
}

function fromCounters(db: Db) {
  return { members: memberCount(db), outbox: statusCounts(db, 'outbox'), jobs: statusCounts(db, 'jobs') };
}

/** Times `a` and `b` alternately, `n` each, after a warm-up; ms per call. */
async function alternate(n: number, a: () => Promise<unknown> | unknown, b: () => Promise<unknown> | unknown): Promise<[number[], number[]]> {
  for (let i = 0; i < 20; i++) {
    await a();
    await b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await a();
    ta.push(performance.now() - t);
    t = performance.now();
    await b();
    tb.push(performance.now() - t);
  }
  return [ta.sort((x, y) => x - y), tb.sort((x, y) => x - y)];
}

function sameFigures(db: Db): void {
  const sorted = (c: ReturnType<typeof fromCounters>) => JSON.stringify([c.members, Object.entries(c.outbox).sort(), Object.entries(c.jobs).sort()]);
  const a = sorted(fromCounters(db));
  const b = sorted(countedByHand(db));
  if (a !== b) throw new Error(`status_counts disagree with a count by hand: ${a} vs ${b}`);
}

async function sqliteHttp(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kequn-bench-healthz-'));
  const dbPath = join(dir, 'kequn.db');
  const config = loadConfig('test/fixtures/course', { env: { KEQUN_DATA: dbPath } });
  const clock = new OffsetClock();
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
  fill(app.db, clock.now());
  sameFigures(app.db);
  const web = createWebApp({ app, clock, log: silentLogger, env: {} });
  web.get('/healthz-by-hand', (c) => c.json({ status: 'ok', uptimeMs: Math.round(process.uptime() * 1000), ...countedByHand(app.db) }));
  const server = await startWebServer(web, { host: '127.0.0.1', port: 0 });
  const get = async (path: string) => {
    const r = await fetch(server.url + path);
    await r.arrayBuffer();
  };
  try {
    const [after, before] = await alternate(GETS, () => get('/healthz'), () => get('/healthz-by-hand'));
    const note = `${ROWS.toLocaleString('en')} outbox rows, ${ROWS.toLocaleString('en')} jobs, ${ROWS.toLocaleString('en')} members on SQLite; real HTTP, alternating; p50 ${pct(after, 50).toFixed(2)} vs ${pct(before, 50).toFixed(2)} ms`;
    return [
      {
        name: 'healthz: GET /healthz at 100k outbox + 100k jobs, p99',
        value: pct(after, 99),
        unit: 'ms',
        baseline: 'counted by GROUP BY (before)',
        baseline_value: pct(before, 99),
        ratio: pct(before, 99) / pct(after, 99),
        target: '< 5 ms',
        met: pct(after, 99) < 5,
        note,
      },
    ];
  } finally {
    await server.close();
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresQueries(): Promise<BenchResult[]> {
  const pg = await benchPostgres();
  if ('skipped' in pg) return [{ name: 'healthz: counts on PostgreSQL at 100k rows, p99', value: NaN, unit: 'ms', note: `skipped: ${pg.skipped}` }];
  const scratch = new ScratchDatabases(pg.url);
  try {
    const db = openStore(scratch.create());
    try {
      const t = performance.now();
      fill(db, Date.now());
      if (process.env.BENCH_VERBOSE) console.log(`filled PostgreSQL in ${Math.round(performance.now() - t)} ms`);
      sameFigures(db);
      // As a heartbeat does (src/bot/cluster.ts): the triggers' deltas folded into the counts.
      compactDeltas(db);
      // And as autovacuum then does: the folded deltas' dead rows are gone from the table's pages.
      db.exec('VACUUM ANALYZE');
      sameFigures(db);
      const [after, before] = await alternate(GETS, () => fromCounters(db), () => countedByHand(db));
      return [
        {
          name: 'healthz: counts on PostgreSQL at 100k rows, p99',
          value: pct(after, 99),
          unit: 'ms',
          baseline: 'counted by GROUP BY (before)',
          baseline_value: pct(before, 99),
          ratio: pct(before, 99) / pct(after, 99),
          target: '< 5 ms',
          met: pct(after, 99) < 5,
          note: `in process, the three queries of /healthz, deltas folded and vacuumed; p50 ${pct(after, 50).toFixed(2)} vs ${pct(before, 50).toFixed(2)} ms; ${pg.origin}`,
        },
      ];
    } finally {
      db.close();
    }
  } finally {
    scratch.dropAll();
    pg.stop();
  }
}

const CYCLES = 2000;

/** What the counting triggers add to the write path: a message queued, claimed and marked sent. */
function writeCycles(db: Db, n: number, from: number): number {
  const t = performance.now();
  for (let i = from; i < from + n; i++) {
    const id = enqueueMessage(db, { platform: 'wechat', chatKind: 'dm', chatId: `u${i % 500}`, memberId: null, groupId: null, text: 'hi', priority: 'reply', notBefore: i, eventId: null, ruleId: null, dryRun: false, now: i, budget: null });
    claimMessage(db, id, 'main');
    markSent(db, id, i);
  }
  return (performance.now() - t) / n;
}

const DROP_SQLITE = ['outbox_count_insert', 'outbox_count_update', 'outbox_count_delete'].map((t) => `DROP TRIGGER ${t};`).join('\n');
const DROP_PG = 'DROP TRIGGER outbox_count ON outbox; DROP TRIGGER outbox_count_status ON outbox;';

/** The same cycles on two stores of one backend, with and without the outbox's counting triggers, alternately. */
function triggerCost(open: () => Db, drop: string, backend: string): BenchResult {
  const counted = open();
  const bare = open();
  bare.exec(drop);
  try {
    writeCycles(counted, 200, 0);
    writeCycles(bare, 200, 0);
    let a = 0;
    let b = 0;
    for (let round = 0; round < 5; round++) {
      a += writeCycles(counted, CYCLES / 5, 1000 + round * CYCLES);
      b += writeCycles(bare, CYCLES / 5, 1000 + round * CYCLES);
    }
    const withTriggers = (a / 5) * 1000;
    const without = (b / 5) * 1000;
    return {
      name: `healthz: a message queued, claimed and sent, with the counting triggers (${backend})`,
      value: withTriggers,
      unit: 'µs',
      baseline: 'without them',
      baseline_value: without,
      ratio: without / withTriggers,
      note: `3 transactions per message, ${CYCLES} messages alternating in rounds; the triggers' cost on the write path`,
    };
  } finally {
    counted.close();
    bare.close();
  }
}

export async function benchHealthz(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kequn-bench-triggers-'));
  let k = 0;
  const results = [...(await sqliteHttp()), ...(await postgresQueries())];
  try {
    results.push(triggerCost(() => openStore(join(dir, `s${k++}.db`)), DROP_SQLITE, 'SQLite file'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = await benchPostgres();
  if (!('skipped' in pg)) {
    const scratch = new ScratchDatabases(pg.url);
    try {
      results.push(triggerCost(() => openStore(scratch.create()), DROP_PG, 'PostgreSQL'));
    } finally {
      scratch.dropAll();
      pg.stop();
    }
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchHealthz());
  process.exit(0);
}
