/**
 * `kequn copy-store` throughput: a SQLite store with 200,000 events and 100,000 rule traces
 * (the two tables that grow) copied into a fresh PostgreSQL database. Needs a server
 * (KEQUN_TEST_PG_URL, as the tests); without one it reports nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyStore } from '../src/store/copy-store.js';
import { openStore } from '../src/store/db.js';
import { ScratchDatabases } from '../src/store/pg-scratch.js';
import type { BenchResult } from './report.js';

export function benchCopyStore(): BenchResult[] {
  const server = process.env.KEQUN_TEST_PG_URL;
  if (!server) return [];
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-copy-'));
  const file = join(dir, 'kequn.db');
  const scratch = new ScratchDatabases(server, `kequn_bench${process.pid}`);
  try {
    const db = openStore(file);
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
      INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at)
      SELECT 'message', 'wechat', 'bulk-' || i, NULL, NULL, '{"text":"a message of moderate length, as members write them"}', 1700000000000 + i FROM n;
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
      INSERT INTO rule_traces (event_id, job_id, member_id, rule_id, matched, detail, at)
      SELECT i, NULL, NULL, 'welcome', 1, '{"conditions":[]}', 1700000000000 + i FROM n;`);
    db.close();
    const r = copyStore(file, scratch.create());
    const rate = r.rows / (r.ms / 1000);
    return [
      {
        name: 'copy-store: SQLite → PostgreSQL',
        value: rate,
        unit: 'rows/s',
        target: '>= 10000 (a million-row store in under 2 min)',
        met: rate >= 10_000,
        note: `${r.rows} rows, one transaction, counts verified, loopback`,
      },
    ];
  } finally {
    scratch.dropAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
