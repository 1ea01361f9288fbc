/**
 * The write path of issue 20: what one event writes. Fewer index entries on events and questions
 * (each read path still finds its rows through an index), members.last_seen_at stored to the
 * minute, the rules that did not match kept in the event's row. The pages per message themselves are measured by bench/wal-pages.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { rememberedRules } from '../../src/core/engine/rules.js';
import { openStore } from '../../src/store/db.js';
import { LAST_SEEN_STEP_MS, findMemberByIdentity } from '../../src/store/members.js';
import { recentTraces, tracesOfEvent } from '../../src/store/traces.js';
import { SECOND, T0, count, demoConfig, harness, joined, message, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { testBackend } from '../helpers/store.js';

afterAll(removeTempDirs);

/** Indexes of a table on either backend, without the primary key and UNIQUE constraints' own. */
function indexesOf(db: ReturnType<typeof harness>['db'], table: string): string[] {
  const rows =
    testBackend === 'postgres'
      ? (db.prepare("SELECT indexname AS name FROM pg_indexes WHERE tablename = ? AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'").all(table) as { name: string }[])
      : (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table) as { name: string }[]);
  return rows.map((r) => r.name).sort();
}

describe('indexes on the tables every message writes', () => {
  it('events keep one index by member (type, time) and one by type and time; questions lose the status index', () => {
    const h = harness();
    expect(indexesOf(h.db, 'events')).toEqual(['events_member_type', 'events_type_at']);
    expect(indexesOf(h.db, 'questions')).toEqual(['questions_answered', 'questions_created', 'questions_group', 'questions_member', 'questions_pending']);
  });

  // SQLite's plan: a seek on the chat and entry, not the questions since the cooldown's start in every chat.
  it.skipIf(testBackend === 'postgres')("the Q&A's repeat check seeks the answered questions of one chat and entry (migration 31), and that index holds answered rows only", () => {
    const h = harness();
    const sql = "SELECT MAX(created_at) AS t FROM questions WHERE status = 'answered' AND created_at >= ? AND chat_id = ? AND entry_id = ?";
    const plan = (h.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1, 'a', 'b') as { detail: string }[]).map((r) => r.detail);
    expect(plan).toEqual([expect.stringMatching(/^SEARCH questions USING COVERING INDEX questions_answered \(chat_id=\? AND entry_id=\? AND created_at>\?\)$/)]);
    const def = (h.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'questions_answered'").get() as { sql: string }).sql;
    expect(def).toMatch(/WHERE status = 'answered'$/);
  });

  it("members' index by creation time leaves the stage out: a stage move rewrites no index entry (migration 30)", () => {
    const h = harness();
    expect(indexesOf(h.db, 'members')).toContain('members_created');
    expect(indexesOf(h.db, 'members')).not.toContain('members_created_stage');
    // Indexes that hold the stage: none (the stage changes with the rules).
    const withStage =
      testBackend === 'postgres'
        ? (h.db.prepare("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'members' AND indexdef LIKE '%stage%'").all() as { name: string }[])
        : (h.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members' AND sql LIKE '%stage%'").all() as { name: string }[]);
    expect(withStage).toEqual([]);
  });

  // The readers' own SQL (src/flows/moderation/store.ts, staff/store.ts, dashboard, privacy,
  // qa/store.ts): each finds its rows through an index, none reads the whole table.
  const READS = [
    "SELECT payload FROM events WHERE member_id = ? AND type = 'message' AND at >= ? ORDER BY id DESC LIMIT 200",
    "SELECT payload FROM events WHERE member_id = ? AND type = 'message' AND at >= ? AND group_id = ? ORDER BY id DESC LIMIT 200",
    "SELECT COUNT(*) AS n FROM events WHERE member_id = ? AND type = 'message' AND at >= ? AND group_id = ? AND id > ?",
    'SELECT COUNT(*) AS n FROM events WHERE type = ? AND at >= ?',
    'SELECT COUNT(*) AS n FROM events WHERE type = ? AND at >= ? AND group_id = ?',
    "SELECT COUNT(DISTINCT member_id) AS n FROM events WHERE type = 'message' AND at >= ?",
    'SELECT type, group_id, payload, at FROM events WHERE member_id = ? ORDER BY id DESC LIMIT ?',
    "SELECT member_id, at FROM events WHERE member_id = ? AND type = 'message'",
    'SELECT id, type, platform, group_id, payload, at FROM events WHERE member_id = ? ORDER BY id',
    'SELECT DISTINCT type FROM events WHERE member_id = ?',
    "SELECT MAX(created_at) AS t FROM questions WHERE status = 'answered' AND created_at >= ? AND chat_id = ? AND entry_id = ?",
    'SELECT status, COUNT(*) AS n FROM questions WHERE created_at >= ? GROUP BY status',
    'SELECT status, COUNT(*) AS n FROM questions WHERE created_at >= ? AND group_id = ? GROUP BY status',
    "SELECT * FROM questions WHERE status = 'pending' AND (claimed_at IS NULL OR claimed_at < ?) ORDER BY id LIMIT ?",
    'SELECT COUNT(*) AS n FROM questions WHERE member_id = ? AND created_at >= ?',
    'SELECT COUNT(*) AS n FROM questions WHERE group_id = ? AND created_at >= ?',
    // The dashboard's cohort and rollups (src/flows/dashboard/store).
    'SELECT m.id, m.created_at FROM members m WHERE m.created_at >= ? AND m.created_at < ?',
    'SELECT id FROM members WHERE created_at >= ?',
  ];
  it.each(READS)('SQLite reads through an index: %s', (sql) => {
    const db = openStore(':memory:');
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array<number>((sql.match(/\?/g) ?? []).length).fill(1)) as { detail: string }[]).map((r) => r.detail);
    expect(plan.some((d) => /^SEARCH (events|questions|members|m) USING (COVERING )?INDEX /.test(d)), plan.join(' | ')).toBe(true);
    expect(plan.filter((d) => /^SCAN (events|questions|members|m)\b/.test(d))).toEqual([]);
    db.close();
  });
});

describe('members.last_seen_at', () => {
  it('is written at most once a minute per member, while the event sees the exact time', () => {
    const h = harness();
    const stored = () => (h.db.prepare('SELECT last_seen_at FROM members WHERE id = ?').get(findMemberByIdentity(h.db, 'wechat', 'ann')!.id) as { last_seen_at: number }).last_seen_at;
    expect(h.engine.handleEvent(message('ann', '大家好', { at: T0 }), T0).status).toBe('handled');
    expect(stored()).toBe(T0);
    // 30 s and 59 s later: the row is not rewritten.
    for (const dt of [30 * SECOND, LAST_SEEN_STEP_MS - 1]) {
      expect(h.engine.handleEvent(message('ann', '还在', { at: T0 + dt }), T0 + dt).status).toBe('handled');
      expect(stored()).toBe(T0);
    }
    // A minute after the stored time: written again.
    const t = T0 + LAST_SEEN_STEP_MS;
    expect(h.engine.handleEvent(message('ann', '一分钟后', { at: t }), t).status).toBe('handled');
    expect(stored()).toBe(t);
  });
});

describe('traces of the rules that did not match', () => {
  it("are kept in the event's own row, and `kequn why` still shows every rule checked", () => {
    const h = harness();
    const first = h.engine.handleEvent(message('bo', '今天天气不错', { at: T0 }), T0);
    const second = h.engine.handleEvent(message('bo', '我们下午再聊吧', { at: T0 + SECOND }), T0 + SECOND);
    const messageRules = h.config.rules.filter((r) => r.on === 'message').map((r) => r.id);
    for (const r of [first, second]) {
      expect(r.fired).toEqual([]);
      // No rule_traces row at all: the rules checked are in the event row.
      expect(count(h.db, 'rule_traces', `event_id = ${r.eventRowId!}`)).toBe(0);
      const unmatched = (h.db.prepare('SELECT unmatched FROM events WHERE id = ?').get(r.eventRowId) as { unmatched: string | null }).unmatched;
      expect(unmatched).toMatch(/^\n\{"trigger":"message"/);
      const traces = tracesOfEvent(h.db, r.eventRowId!);
      expect(traces.map((t) => t.rule_id)).toEqual(messageRules);
      expect(traces.every((t) => t.matched === 0 && t.event_id === r.eventRowId)).toBe(true);
    }
    // The member's recent checks (kequn why, the member card): newest event first, every rule.
    const bo = findMemberByIdentity(h.db, 'wechat', 'bo')!;
    const recent = recentTraces(h.db, bo.id, 1000);
    expect(recent.map((t) => t.event_id)).toEqual([...messageRules.map(() => second.eventRowId), ...messageRules.map(() => first.eventRowId)]);
    expect(recent.map((t) => t.rule_id)).toEqual([...messageRules, ...messageRules]);
    expect(recent.every((t) => t.event_type === 'message')).toBe(true);
  });
});

describe('rule_fires', () => {
  const QUESTION = '请问第3课的作业怎么提交？';
  const firesOf = (h: ReturnType<typeof harness>, ruleId: string) => count(h.db, 'rule_fires', `rule_id = '${ruleId}'`);

  it('remembers the fires of rules with a cooldown and of rules a fired_ago condition names, only', () => {
    // welcome-newcomer: a cooldown, and rejoin-quietly's fired_ago; welcome-private, start-again: cooldowns.
    expect([...rememberedRules(demoConfig().rules)].sort()).toEqual(['start-again', 'welcome-newcomer', 'welcome-private']);
  });

  it('a rule without either fires with no rule_fires row, and `kequn why` still shows it fired', () => {
    const h = harness();
    h.engine.handleEvent(joined('ann', { at: T0 }), T0);
    expect(firesOf(h, 'welcome-newcomer')).toBe(1);
    const rows = count(h.db, 'rule_fires');
    const r = h.engine.handleEvent(message('ann', QUESTION, { at: T0 + SECOND }), T0 + SECOND);
    expect(r.fired).toContain('answer-questions');
    expect(count(h.db, 'rule_fires')).toBe(rows);
    expect(tracesOfEvent(h.db, r.eventRowId!).find((t) => t.rule_id === 'answer-questions')?.matched).toBe(1);
  });

  it('a rule named by fired_ago keeps its row (the condition reads it)', () => {
    const dir = tempConfig({ 'rules.yaml': (t) => replaceOnce(t, 'fired_ago.welcome-newcomer: { lt: 30d }', 'fired_ago.answer-questions: { lt: 30d }') });
    const h = harness({ config: loadConfig(dir, { env: {} }) });
    expect(rememberedRules(h.config.rules).has('answer-questions')).toBe(true);
    h.engine.handleEvent(joined('ann', { at: T0 }), T0);
    const r = h.engine.handleEvent(message('ann', QUESTION, { at: T0 + SECOND }), T0 + SECOND);
    expect(r.fired).toContain('answer-questions');
    expect(firesOf(h, 'answer-questions')).toBe(1);
  });
});

describe('a question answered from the FAQ', () => {
  // SQLite: a temporary trigger logs each status the questions rows take (the partial index
  // questions_pending gets an entry for every row inserted as pending).
  it.skipIf(testBackend === 'postgres')('is written once with its outcome, never as pending first (answered, then dropped as a repeat)', () => {
    const h = harness();
    h.db.exec('CREATE TEMP TABLE question_statuses (status TEXT)');
    h.db.exec('CREATE TEMP TRIGGER question_inserted AFTER INSERT ON questions BEGIN INSERT INTO question_statuses VALUES (NEW.status); END');
    h.db.exec('CREATE TEMP TRIGGER question_settled AFTER UPDATE OF status ON questions BEGIN INSERT INTO question_statuses VALUES (NEW.status); END');
    const first = h.engine.handleEvent(message('ann', 'Python 环境怎么安装？', { at: T0 }), T0);
    const again = h.engine.handleEvent(message('bo', 'Python 环境怎么安装？', { at: T0 + SECOND }), T0 + SECOND);
    const notes = [first, again].map((r) => JSON.stringify(tracesOfEvent(h.db, r.eventRowId!).find((t) => t.rule_id === 'answer-questions')));
    expect(notes[0]).toMatch(/answered from/);
    expect(notes[1]).toMatch(/was just answered here; silent/);
    expect((h.db.prepare('SELECT status FROM question_statuses').all() as { status: string }[]).map((r) => r.status)).toEqual(['answered', 'dropped']);
    expect(h.db.prepare('SELECT status, entry_id, answered_via, answered_at IS NOT NULL AS at FROM questions ORDER BY id').all()).toEqual([
      { status: 'answered', entry_id: expect.any(String), answered_via: 'faq', at: 1 },
      { status: 'dropped', entry_id: expect.any(String), answered_via: null, at: 0 },
    ]);
  });
});

describe('traces of the rules that fired', () => {
  it("are kept in the event's own row too: no rule_traces row, and `kequn why` shows them with their actions", () => {
    const h = harness();
    h.engine.handleEvent(joined('ann', { at: T0 }), T0);
    const r = h.engine.handleEvent(message('ann', 'Python 环境怎么安装？', { at: T0 + SECOND }), T0 + SECOND);
    expect(r.fired).toContain('answer-questions');
    expect(count(h.db, 'rule_traces', `event_id = ${r.eventRowId!}`)).toBe(0);
    const fired = tracesOfEvent(h.db, r.eventRowId!).find((t) => t.rule_id === 'answer-questions')!;
    expect(fired).toMatchObject({ matched: 1, event_id: r.eventRowId, member_id: findMemberByIdentity(h.db, 'wechat', 'ann')!.id });
    const detail = JSON.parse(fired.detail) as { trigger: string; conditions: { condition: string; ok: boolean }[]; actions: string[] };
    expect(detail.trigger).toBe('message');
    expect(detail.conditions.map((c) => [c.condition, c.ok])).toEqual([
      ['is_question eq true', true],
      ['role eq "member"', true],
      ['no other rule answered', true],
    ]);
    expect(detail.actions).toEqual([expect.stringMatching(/^answered from /)]);
    // The member's recent checks (kequn why, the member card) have it, newest event first.
    const recent = recentTraces(h.db, fired.member_id!, 1000);
    expect(recent.filter((t) => t.event_id === r.eventRowId && t.matched === 1).map((t) => t.rule_id)).toEqual(r.fired);
    expect(recent[0]!.event_id).toBe(r.eventRowId);
  });
});

describe('a redelivered event', () => {
  it('is found by its insert, and what its handling did before is undone: no new name, no new time', () => {
    const h = harness();
    const e = message('cy', '第一次', { at: T0, eventId: 'msg:cy:redelivered' });
    expect(h.engine.handleEvent(e, T0).status).toBe('handled');
    const stored = () => h.db.prepare('SELECT m.display_name, m.last_seen_at, i.display_name AS identity_name FROM members m JOIN identities i ON i.member_id = m.id').all();
    const before = stored();
    // Two minutes later, under another name: the member lookup would rename and touch the member.
    const again = h.engine.handleEvent({ ...e, user: { id: 'cy', name: '改了名字' } }, T0 + 2 * LAST_SEEN_STEP_MS);
    expect(again).toMatchObject({ status: 'duplicate', fired: [], messages: 0 });
    expect(stored()).toEqual(before);
    expect(count(h.db, 'events')).toBe(1);
  });
});
