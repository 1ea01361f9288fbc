import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, type Db } from '../../src/store/db.js';
import { recordRuleOutcomes, recordTrace, traceCatalog, tracesOfEvent, UNMATCHED_ROW, type RuleOutcome } from '../../src/store/traces.js';
import { localDayStart, localMinuteOfDay, nextLocalTime } from '../../src/util/localtime.js';
import { runTogether } from '../helpers/pg-processes.js';
import { freshPgUrl, openTestStore, pgAdminUrl } from '../helpers/store.js';

const TEXT = '请问第3课的作业怎么提交？'.repeat(3);

/** Outcomes of every shape the shared row must give back unchanged. */
function outcomes(): RuleOutcome[] {
  const tags = ['a', 'b'];
  return [
    { ruleId: 'spam', matched: false, detail: { conditions: [{ condition: 'spam exists true', actual: null, ok: false }] } },
    { ruleId: 'kw-1', matched: false, detail: { conditions: [{ condition: 'stage in ["paid"]', actual: 'trial', ok: false }, { condition: 'text contains "kw1"', actual: TEXT, ok: false }] } },
    { ruleId: 'fired', matched: true, detail: { conditions: [{ condition: 'text contains "作业"', actual: TEXT, ok: true }], actions: ['replied'] } },
    { ruleId: 'kw-2', matched: false, detail: { conditions: [{ condition: 'text contains "kw2"', actual: TEXT, ok: false }] } },
    { ruleId: 'tags', matched: false, detail: { conditions: [{ condition: 'tags has "x"', actual: tags, ok: false }, { condition: 'is_dm eq true', actual: false, ok: false }] } },
    { ruleId: 'count', matched: false, detail: { conditions: [{ condition: 'questions_asked eq 0', actual: 3, ok: false }, { condition: 'cooldown 30d', actual: 'fired 2h ago', ok: false }] } },
    // No value at all (the key is dropped in JSON), and rules/conditions the catalog does not know.
    { ruleId: 'not-in-catalog', matched: false, detail: { conditions: [{ condition: 'invite_link exists true', actual: undefined, ok: false }] } },
    // Shapes the packer leaves as objects: an extra key, a condition that held.
    { ruleId: 'odd-1', matched: false, detail: { conditions: [{ condition: 'stage eq "x"', actual: 'trial', ok: false }], note: 'extra' } },
    { ruleId: 'odd-2', matched: false, detail: { conditions: [{ condition: 'role eq "member"', actual: 'member', ok: true }] } },
    { ruleId: 'none', matched: false, detail: { conditions: [] } },
  ];
}

/** The shared row as it was written before packing: one full object per rule. */
function recordUnpacked(db: Db, eventId: number, list: RuleOutcome[]): void {
  const unmatched = list.flatMap((o, i) => (o.matched ? [] : [{ i, rule: o.ruleId, ...o.detail }]));
  recordTrace(db, { eventId, jobId: null, memberId: 'm1', ruleId: UNMATCHED_ROW, matched: false, detail: { trigger: 'message', unmatched }, at: 1 });
  list.forEach((o, i) => {
    if (o.matched) recordTrace(db, { eventId, jobId: null, memberId: 'm1', ruleId: o.ruleId, matched: true, detail: { i, trigger: 'message', ...o.detail }, at: 1 });
  });
}

const catalog = traceCatalog([
  { id: 'spam', labels: ['spam exists true'] },
  { id: 'kw-1', labels: ['stage in ["paid"]', 'text contains "kw1"'] },
  { id: 'kw-2', labels: ['text contains "kw2"'] },
  { id: 'tags', labels: ['tags has "x"', 'is_dm eq true'] },
  { id: 'count', labels: ['questions_asked eq 0', 'cooldown 30d'] },
]);

/** The event row a trace belongs to: an event's unmatched rules are kept in its own row. */
function logEvent(db: Db, id: number): number {
  db.prepare("INSERT INTO events (id, type, platform, dedupe_key, member_id, group_id, payload, at) VALUES (?, 'message', 'wechat', ?, 'm1', NULL, '{}', 1)").run(id, `wechat:e${id}`);
  return id;
}

const withoutIds = (rows: ReturnType<typeof tracesOfEvent>) => rows.map(({ id: _id, event_id: _e, ...r }) => r);

describe('rule traces: the packed shared row', () => {
  it('reads back exactly as the one-object-per-rule row did, with and without a catalog', () => {
    const db = openTestStore();
    for (const id of [1, 2, 3]) logEvent(db, id);
    recordUnpacked(db, 1, outcomes());
    recordRuleOutcomes(db, { eventId: 2, jobId: null, memberId: 'm1', at: 1, trigger: 'message' }, outcomes(), catalog);
    recordRuleOutcomes(db, { eventId: 3, jobId: null, memberId: 'm1', at: 1, trigger: 'message' }, outcomes());
    const before = withoutIds(tracesOfEvent(db, 1));
    expect(before.map((r) => r.rule_id)).toEqual(outcomes().map((o) => o.ruleId));
    expect(withoutIds(tracesOfEvent(db, 2))).toEqual(before);
    expect(withoutIds(tracesOfEvent(db, 3))).toEqual(before);
    // The message text is stored once, not once per rule that quoted it.
    // Kept in the event's own row since issue 20; rows written before stay readable (event 1).
    const packed = (db.prepare('SELECT unmatched FROM events WHERE id = 2').get() as { unmatched: string }).unmatched;
    expect(db.prepare('SELECT COUNT(*) AS n FROM rule_traces WHERE event_id = 2 AND rule_id = ?').get(UNMATCHED_ROW)).toEqual({ n: 0 });
    // The rule that fired is in the event's row too (issue 20), its conditions packed the same way:
    // no rule_traces row at all, and the text still stored once.
    expect(db.prepare('SELECT COUNT(*) AS n FROM rule_traces WHERE event_id = 2').get()).toEqual({ n: 0 });
    expect(packed.split(TEXT).length - 1).toBe(1);
    const old = (db.prepare('SELECT detail FROM rule_traces WHERE event_id = 1').all() as { detail: string }[]).reduce((n, r) => n + r.detail.length, 0);
    expect(packed.length).toBeLessThan(old / 2);
  });

  it('writes the catalog once, inside the transaction of the row that needs it', () => {
    const db = openTestStore();
    const args = (eventId: number) => ({ eventId, jobId: null, memberId: 'm1', at: 1, trigger: 'message' });
    const catalogs = () => (db.prepare("SELECT COUNT(*) AS n FROM kv WHERE key LIKE 'trace-catalog:%'").get() as { n: number }).n;
    for (const id of [1, 2, 3, 4]) logEvent(db, id);
    // Rolled back with its row: a later row must not refer to a catalog that is not there.
    expect(() =>
      db.transaction(() => {
        recordRuleOutcomes(db, args(1), outcomes(), catalog);
        throw new Error('rollback');
      })(),
    ).toThrow('rollback');
    expect(catalogs()).toBe(0);
    recordRuleOutcomes(db, args(2), outcomes(), catalog);
    recordRuleOutcomes(db, args(3), outcomes(), catalog);
    expect(catalogs()).toBe(1);
    expect(tracesOfEvent(db, 3).find((t) => t.rule_id === 'kw-1')!.detail).toBe(
      JSON.stringify({ trigger: 'message', actions: [], conditions: [{ condition: 'stage in ["paid"]', actual: 'trial', ok: false }, { condition: 'text contains "kw1"', actual: TEXT, ok: false }] }),
    );
    // Other rules (a reloaded config) get their own catalog; rows already written keep theirs.
    recordRuleOutcomes(db, args(4), outcomes(), traceCatalog([{ id: 'kw-2', labels: ['text contains "kw2"'] }]));
    expect(catalogs()).toBe(2);
    expect(withoutIds(tracesOfEvent(db, 4))).toEqual(withoutIds(tracesOfEvent(db, 2)));
  });
});

describe('localDayStart (remembers the last day)', () => {
  // The formula it used before remembering, as the reference.
  const reference = (t: number, tz: string) => nextLocalTime(t - (localMinuteOfDay(t, tz) + 1) * 60_000, 0, tz);

  it.each(['Asia/Shanghai', 'America/New_York', 'Europe/London', 'America/Santiago'])('matches the formula across days and clock changes in %s', (tz) => {
    // Across the spring and autumn changes of both hemispheres, in uneven steps, forwards then back.
    const times: number[] = [];
    for (const day of ['2026-03-07', '2026-03-28', '2026-04-04', '2026-09-05', '2026-10-24', '2026-10-31']) {
      const start = Date.parse(`${day}T00:00:00Z`);
      for (let t = start; t < start + 3 * 86_400_000; t += 47 * 60_000 + 13_000) times.push(t);
    }
    for (const t of [...times, ...times.reverse()]) expect(localDayStart(t, tz)).toBe(reference(t, tz));
  });
});

describe('background checkpoints', () => {
  it('copies the WAL into the file from a worker thread, and the last close removes the WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-ckpt-'));
    const path = join(dir, 'store.db');
    const db = openStore(path, { backgroundCheckpoints: true });
    // Under the main connection's own bound (10,000 pages): only the worker copies these ~600 pages.
    db.transaction(() => {
      for (let i = 0; i < 600; i++) db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)').run(`k${i}`, 'x'.repeat(4000));
    })();
    const sizeAfterCommit = statSync(path).size;
    const deadline = Date.now() + 5_000;
    while (statSync(path).size < 2_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sizeAfterCommit).toBeLessThan(2_000_000);
    expect(statSync(path).size).toBeGreaterThan(2_000_000);
    db.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    // Reopened, everything is there.
    const again = openStore(path);
    expect((again.prepare('SELECT COUNT(*) AS n FROM kv').get() as { n: number }).n).toBe(600);
    again.close();
  });
});

describe.skipIf(!pgAdminUrl)('rule traces on one PostgreSQL shared by several processes (KEQUN_TEST_PG_URL)', () => {
  it('processes storing the same new catalog at the same moment all succeed: one catalog row, every trace written', async () => {
    const url = freshPgUrl();
    // Each event's transaction stores its rules' catalog if it is not there yet: two processes
    // with the same rules (a new config) both find it missing and insert it.
    const results = await runTogether(
      url,
      `const { inTransaction } = await src('store/db.ts');
       const { recordRuleOutcomes, traceCatalog } = await src('store/traces.ts');
       for (let i = 0; i < 30; i++) {
         const catalog = traceCatalog([{ id: 'kw-' + i, labels: ['text contains "kw' + i + '"'] }]);
         inTransaction(db, () => recordRuleOutcomes(db, { eventId: null, jobId: null, memberId: null, at: i, trigger: 'message' }, [{ ruleId: 'kw-' + i, matched: false, detail: { conditions: [{ label: 'text contains "kw' + i + '"', fact: 'text', value: 'hello' }] } }], catalog));
       }`,
    );
    expect(results).toEqual([
      { code: 0, err: '' },
      { code: 0, err: '' },
    ]);
    const db = openStore(url);
    expect((db.prepare("SELECT COUNT(*) AS n FROM kv WHERE key LIKE 'trace-catalog:%'").get() as { n: number }).n).toBe(30);
    expect((db.prepare('SELECT COUNT(*) AS n FROM rule_traces').get() as { n: number }).n).toBe(60);
    db.close();
  }, 20_000);
});
