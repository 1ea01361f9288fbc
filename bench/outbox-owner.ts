/**
 * The send window on a PostgreSQL store shared by five instances: four others have 50,000
 * messages queued (12,500 each, in 1,000 chats each, as after a broadcast) and this one has 200
 * in 50 chats, plus 20 to chats nobody owns yet. Times one read of the window (the queues' heads
 * of one lane, src/store/outbox.ts pendingHeads, which the sender reads for each lane before each
 * send) as it is (the owner column, migration 27) and as it was before (a GROUP BY over every
 * instance's pending rows, then leaving out the chats others own), alternately in the same run.
 * Run alone: npx tsx bench/outbox-owner.ts
 */
import { openStore, type Db } from '../src/store/db.js';
import { pendingHeads, type QueueHead } from '../src/store/outbox.js';
import { ScratchDatabases } from '../src/store/pg-scratch.js';
import { benchPostgres } from './pg-cluster.js';
import { pct, report, type BenchResult } from './report.js';

const OTHERS = 4;
const OTHER_ROWS = 12_500;
const OTHER_CHATS = 1_000;
const OWN_ROWS = 200;
const OWN_CHATS = 50;
const READS = 200;

/** pendingHeads as it was before migration 27: every pending row of the lane, then a filter. */
function headsBefore(db: Db, platform: string, priority: string, instance: string, limit: number): QueueHead[] {
  const rows = db
    .prepare(
      `SELECT o.id, o.chat_kind, o.chat_id, o.member_id, o.not_before FROM outbox o
        WHERE o.id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending' AND platform = ? AND priority = ? GROUP BY chat_id, member_id)`,
    )
    .raw(true)
    .all(platform, priority) as [number, 'group' | 'dm', string, string | null, number][];
  const others = new Set(db.prepare('SELECT chat_id FROM chat_owners WHERE platform = ? AND instance <> ?').pluck(true).all(platform, instance) as string[]);
  const heads: QueueHead[] = [];
  for (const [id, chatKind, chatId, memberId, notBefore] of rows) {
    if (!others.has(chatId)) heads.push({ id, platform, chat_kind: chatKind, chat_id: chatId, member_id: memberId, priority: 'reply', not_before: notBefore });
  }
  return heads.sort((a, b) => a.not_before - b.not_before || a.id - b.id).slice(0, limit);
}

function fill(db: Db, now: number): void {
  db.transaction(() => {
    const owner = db.prepare("INSERT INTO chat_owners (platform, chat_id, instance, since) VALUES ('wechat', ?, ?, ?)");
    for (let k = 0; k < OTHERS; k++) for (let c = 0; c < OTHER_CHATS; c++) owner.run(`o${k}-u${c}`, `other-${k}`, now);
    for (let c = 0; c < OWN_CHATS; c++) owner.run(`me-u${c}`, 'me', now);
    // The owner is stamped by the insert trigger from chat_owners, as for any queued message.
    const row = db.prepare(
      `INSERT INTO outbox (platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, created_at)
       VALUES ('wechat', 'dm', ?, ?, NULL, 'queued', 'reply', 'pending', ?, ?)`,
    );
    for (let i = 0; i < OTHERS * OTHER_ROWS; i++) {
      const k = i % OTHERS;
      const c = Math.floor(i / OTHERS) % OTHER_CHATS;
      row.run(`o${k}-u${c}`, `m-o${k}-${c}`, now + i, now);
    }
    for (let i = 0; i < OWN_ROWS; i++) row.run(`me-u${i % OWN_CHATS}`, `m-me-${i % OWN_CHATS}`, now + i, now);
    for (let i = 0; i < 20; i++) row.run(`new-u${i}`, `m-new-${i}`, now + i, now);
  })();
}

export async function benchOutboxOwner(): Promise<BenchResult[]> {
  const name = "outbox window: one lane's heads with 50,000 of other instances' rows queued, p50";
  const pg = await benchPostgres();
  if ('skipped' in pg) return [{ name, value: NaN, unit: 'ms', note: `skipped: ${pg.skipped}` }];
  const scratch = new ScratchDatabases(pg.url);
  try {
    const db = openStore(scratch.create());
    try {
      fill(db, Date.now());
      db.exec('VACUUM ANALYZE outbox');
      const after = () => pendingHeads(db, 'wechat', 'reply', 'me', 100);
      const before = () => headsBefore(db, 'wechat', 'reply', 'me', 100);
      // Same answer both ways: this instance's 50 queues and the 20 unowned ones.
      const ids = (h: QueueHead[]) => h.map((x) => x.id).join(',');
      if (ids(after()) !== ids(before()) || after().length !== OWN_CHATS + 20) throw new Error(`the window changed: ${after().length} heads against ${before().length}`);
      const ta: number[] = [];
      const tb: number[] = [];
      for (let i = 0; i < 10; i++) {
        after();
        before();
      }
      for (let i = 0; i < READS; i++) {
        let t = performance.now();
        after();
        ta.push(performance.now() - t);
        t = performance.now();
        before();
        tb.push(performance.now() - t);
      }
      ta.sort((x, y) => x - y);
      tb.sort((x, y) => x - y);
      return [
        {
          name,
          value: pct(ta, 50),
          unit: 'ms',
          baseline: 'GROUP BY over every pending row (before)',
          baseline_value: pct(tb, 50),
          ratio: pct(tb, 50) / pct(ta, 50),
          target: 'ratio >= 10',
          met: pct(tb, 50) / pct(ta, 50) >= 10,
          note: `p99 ${pct(ta, 99).toFixed(2)} vs ${pct(tb, 99).toFixed(2)} ms; ${OWN_ROWS} own rows in ${OWN_CHATS} chats + 20 unowned; PostgreSQL (${pg.origin}), in process, alternating`,
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

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchOutboxOwner());
  process.exit(0);
}
