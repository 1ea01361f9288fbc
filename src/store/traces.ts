import { createHash } from 'node:crypto';
import { later, type StoreRead } from './batch.js';
import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface RuleTraceRow {
  id: number;
  event_id: number | null;
  job_id: number | null;
  member_id: string | null;
  rule_id: string;
  matched: number;
  detail: string;
  at: number;
}

export function recordTrace(
  db: Db,
  args: { eventId: number | null; jobId: number | null; memberId: string | null; ruleId: string; matched: boolean; detail: unknown; at: number },
): void {
  insertTrace(db, args, JSON.stringify(args.detail));
}

function insertTrace(db: Db, args: { eventId: number | null; jobId: number | null; memberId: string | null; ruleId: string; matched: boolean; at: number }, detail: string): void {
  // Nobody reads the row back in the event: on PostgreSQL it goes with the next request.
  later(
    db,
    'INSERT INTO rule_traces (event_id, job_id, member_id, rule_id, matched, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    args.eventId,
    args.jobId,
    args.memberId,
    args.ruleId,
    args.matched ? 1 : 0,
    detail,
    args.at,
  );
}

/** Rule id of the one row per event that holds every rule that was checked and did not match. */
export const UNMATCHED_ROW = '*';

export interface RuleOutcome {
  ruleId: string;
  matched: boolean;
  detail: Record<string, unknown>;
}

/**
 * The condition texts and rule ids of one set of rules, numbered. Stored once in `kv` (under
 * `trace-catalog:<hash of the texts>`, so a reloaded config with other rules gets its own and old
 * traces keep theirs) and referred to by number from the shared rows.
 */
export interface TraceCatalog {
  key: string;
  body: string;
  /** A rule id's or a condition text's number, as packed (a string: no number turned into text per rule and event). */
  rules: Map<string, string>;
  labels: Map<string, string>;
}

export function traceCatalog(rules: { id: string; labels: string[] }[]): TraceCatalog {
  const ids = rules.map((r) => r.id);
  const labels = [...new Set(rules.flatMap((r) => r.labels))];
  const body = JSON.stringify({ rules: ids, labels });
  return {
    key: `trace-catalog:${createHash('sha256').update(body).digest('hex').slice(0, 16)}`,
    body,
    rules: new Map(ids.map((id, n) => [id, String(n)])),
    labels: new Map(labels.map((l, n) => [l, String(n)])),
  };
}

/**
 * Writes the catalog unless it is there; checked in the caller's transaction, so never missing after a rollback.
 * ON CONFLICT: on PostgreSQL another kequn process may be inserting the same catalog (same rules)
 * in a transaction not yet committed; this insert then waits for it and does nothing, rather than
 * failing the event with a duplicate key.
 */
function storeCatalog(db: Db, catalog: TraceCatalog, writer: string): void {
  let known = committedCatalogs.get(db);
  if (!known) committedCatalogs.set(db, (known = { committed: new Set(), insertedBy: new Map() }));
  if (known.committed.has(catalog.key)) return;
  if (stmt(db, 'SELECT 1 FROM kv WHERE key = ?').get(catalog.key) === undefined) {
    stmt(db, 'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(catalog.key, catalog.body);
    known.insertedBy.set(catalog.key, writer);
  } else if (known.insertedBy.get(catalog.key) !== writer) {
    // Found, and not written by this same event or job (one transaction each): committed, so it is
    // there for good (catalogs are never removed) and need not be looked up again.
    known.committed.add(catalog.key);
  }
}

/**
 * Catalogs this connection knows are committed, and which event or job inserted each one it
 * inserted: a catalog read back in the transaction that inserted it could still be rolled back.
 */
const committedCatalogs = new WeakMap<Db, { committed: Set<string>; insertedBy: Map<string, string> }>();

const catalogs = new WeakMap<Db, Map<string, { rules: string[]; labels: string[] } | undefined>>();

function loadCatalog(db: Db, key: string): { rules: string[]; labels: string[] } | undefined {
  let m = catalogs.get(db);
  if (!m) catalogs.set(db, (m = new Map()));
  if (!m.has(key)) {
    const row = stmt(db, 'SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
    // A catalog is written once and never changed, so reading it once per connection is enough.
    if (row) m.set(key, JSON.parse(row.value) as { rules: string[]; labels: string[] });
    else return undefined;
  }
  return m.get(key);
}

/**
 * Records what the rules did with one event or job. A rule that fired gets its own row; the rules
 * that were checked and did not match share one row, so a course with 100 rules writes one or two
 * rows per message, not 100 (what `kequn why` shows is the same: reads expand the shared row).
 * With `catalog` (the engine's rules), the shared row names rules and conditions by number.
 */
export function recordRuleOutcomes(
  db: Db,
  args: { eventId: number | null; jobId: number | null; memberId: string | null; at: number; trigger: string },
  outcomes: RuleOutcome[],
  catalog?: TraceCatalog,
): void {
  let packer: Packer | undefined;
  // An event's rules that fired go into its own row too (issue 20): a rule_traces row and its
  // index entry were two more WAL pages for most messages that fired a rule. A job's keep their rows.
  const event = args.eventId !== null;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    if (!o.matched) (packer ??= new Packer(catalog)).add(i, o);
    else if (event) (packer ??= new Packer(catalog)).addMatched(i, o);
  }
  if (packer) {
    if (catalog) storeCatalog(db, catalog, `${args.eventId ?? ''}/${args.jobId ?? ''}`);
    // An event's: into its own row (see migration 'write path indexes'), a line per run of the
    // rules (the event's own, then channel.opened or follow-ups). A job's: a row of its own.
    if (event) later(db, "UPDATE events SET unmatched = COALESCE(unmatched, '') || ? WHERE id = ?", `\n${packer.json(args.trigger)}`, args.eventId);
    else insertTrace(db, { ...args, ruleId: UNMATCHED_ROW, matched: false }, packer.json(args.trigger));
  }
  if (!event) {
    outcomes.forEach((o, i) => {
      if (o.matched) recordTrace(db, { ...args, ruleId: o.ruleId, matched: true, detail: { i, trigger: args.trigger, ...o.detail } });
    });
  }
}

/**
 * The shared row, packed. Written out per rule, every rule that did not match repeated its
 * condition texts and the facts they saw (the message text about 90 times with 100 rules: 15 KB
 * per message, four pages in the WAL). Packed, each distinct fact value is stored once in `facts`,
 * and a rule is `[i, rule, condition, fact, condition, fact, ...]`: rule and condition are numbers
 * into the catalog (texts when it has none, or lacks them), fact an index into `facts` (-1: no
 * value). An entry that does not have the usual shape (only `conditions`, each failed) stays an
 * object `{ i, rule, ... }`. Still plain JSON with the facts in clear, so the privacy sweep finds
 * quoted words. Rows written before this have `unmatched`: one full object per rule.
 */
type UnmatchedEntry = { i: number; rule: string } & Record<string, unknown>;
type PackedEntry = (number | string)[];
interface PackedRow {
  trigger: string;
  catalog?: string;
  facts?: unknown[];
  packed?: (PackedEntry | UnmatchedEntry)[];
  unmatched?: UnmatchedEntry[];
}

class Packer {
  private readonly facts: unknown[] = [];
  private readonly index = new Map<unknown, number>();
  /** Entries already in JSON: the row is written by hand, a message's row is built ~1,000 times/s. */
  private readonly entries: string[] = [];

  constructor(private readonly catalog: TraceCatalog | undefined) {}

  add(i: number, o: RuleOutcome): void {
    const conditions = o.detail.conditions;
    if (onlyConditions(o.detail) && Array.isArray(conditions)) {
      // Packed only when every condition can be: a fact is numbered only by an entry that is packed.
      if (this.packable(conditions)) {
        let e = `[${i},${this.ref(this.catalog?.rules, o.ruleId)}`;
        for (const c of conditions as FailedCondition[]) {
          // The engine shares one result object among the rules that check the same condition
          // (src/core/rules/plan.ts): packed once, in the same order as ever.
          let p = this.packedCondition.get(c);
          if (p === undefined) {
            p = `,${this.ref(this.catalog?.labels, c.condition)},${this.fact(c.actual)}`;
            this.packedCondition.set(c, p);
          }
          e += p;
        }
        this.entries.push(`${e}]`);
        return;
      }
    }
    this.entries.push(JSON.stringify({ i, rule: o.ruleId, ...o.detail }));
  }

  /** Whether each condition is packed already or has the usual shape (plain loop: 100 rules per message). */
  private packable(conditions: unknown[]): boolean {
    for (const c of conditions) if (!this.packedCondition.has(c) && !isPlainFailed(c)) return false;
    return true;
  }

  /** A failed condition's `,condition,fact` as packed, per result object. */
  private readonly packedCondition = new Map<unknown, string>();

  /**
   * A rule that fired, as an object marked `"fired":true`, read back as its rule_traces row was.
   * Its conditions, when each is `{condition, actual?, ok}`, are packed as a flat list
   * `[condition, fact, ok (1/0), ...]` (numbers into the catalog and `facts`, as above).
   */
  addMatched(i: number, o: RuleOutcome): void {
    const conditions = o.detail.conditions;
    const plain = Array.isArray(conditions) && conditions.every(isPlainCondition);
    const packed = plain ? `[${conditions.map((c) => `${this.ref(this.catalog?.labels, c.condition)},${this.fact(c.actual)},${c.ok ? 1 : 0}`).join(',')}]` : undefined;
    const detail = JSON.stringify(packed !== undefined ? { ...o.detail, conditions: 0 } : o.detail);
    // The detail's keys in their order, its conditions (when packed) put in in place.
    const body = packed !== undefined ? detail.replace('"conditions":0', `"conditions":${packed}`) : detail;
    this.entries.push(`{"i":${i},"rule":${JSON.stringify(o.ruleId)},"fired":true${body === '{}' ? '' : `,${body.slice(1, -1)}`}}`);
  }

  json(trigger: string): string {
    const catalog = this.catalog ? `,"catalog":${JSON.stringify(this.catalog.key)}` : '';
    return `{"trigger":${JSON.stringify(trigger)}${catalog},"facts":${JSON.stringify(this.facts)},"packed":[${this.entries.join(',')}]}`;
  }

  private ref(numbers: Map<string, string> | undefined, text: string): string {
    return numbers?.get(text) ?? JSON.stringify(text);
  }

  private fact(v: unknown): number {
    if (v === undefined) return -1;
    let n = this.index.get(v);
    if (n === undefined) {
      n = this.facts.push(v) - 1;
      this.index.set(v, n);
    }
    return n;
  }
}

function onlyConditions(detail: Record<string, unknown>): boolean {
  for (const k in detail) if (k !== 'conditions') return false;
  return true;
}

type FailedCondition = { condition: string; actual?: unknown; ok: false };
type PlainCondition = { condition: string; actual?: unknown; ok: boolean };

function isPlainCondition(c: unknown): c is PlainCondition {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  if (typeof o.ok !== 'boolean' || typeof o.condition !== 'string') return false;
  const keys = Object.keys(o);
  return keys[0] === 'condition' && (keys.length === 2 ? keys[1] === 'ok' : keys.length === 3 && keys[1] === 'actual' && keys[2] === 'ok');
}

function isPlainFailed(c: unknown): c is FailedCondition {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  if (o.ok !== false || typeof o.condition !== 'string') return false;
  const keys = Object.keys(o);
  return keys[0] === 'condition' && (keys.length === 2 ? keys[1] === 'ok' : keys.length === 3 && keys[1] === 'actual' && keys[2] === 'ok');
}

/** The shared row's entries as `{ i, rule, conditions, ... }`, from the packed or the older form. */
function unpackUnmatched(db: Db, d: PackedRow): UnmatchedEntry[] {
  if (d.unmatched) return d.unmatched;
  const facts = d.facts ?? [];
  const cat = d.catalog !== undefined ? loadCatalog(db, d.catalog) : undefined;
  const rule = (r: number | string) => (typeof r === 'string' ? r : (cat?.rules[r] ?? `(rule #${r}: ${d.catalog} is missing)`));
  const label = (c: number | string) => (typeof c === 'string' ? c : (cat?.labels[c] ?? `(condition #${c}: ${d.catalog} is missing)`));
  return (d.packed ?? []).map((e) => {
    if (!Array.isArray(e)) {
      // A fired rule's conditions packed flat: [condition, fact, ok, ...].
      const c = e.conditions;
      if (e.fired !== true || !Array.isArray(c) || c.some((x) => typeof x === 'object')) return e;
      const conditions: PlainCondition[] = [];
      for (let k = 0; k < c.length; k += 3) {
        const f = c[k + 1] as number;
        const ok = c[k + 2] === 1;
        conditions.push(f < 0 ? { condition: label(c[k] as number | string), ok } : { condition: label(c[k] as number | string), actual: facts[f], ok });
      }
      return { ...e, conditions };
    }
    const conditions: FailedCondition[] = [];
    for (let k = 2; k < e.length; k += 2) {
      const f = e[k + 1] as number;
      conditions.push(f < 0 ? { condition: label(e[k]!), ok: false } : { condition: label(e[k]!), actual: facts[f], ok: false });
    }
    return { i: e[0] as number, rule: rule(e[1]!), conditions };
  });
}

/** Expands shared rows into one row per rule, in the order the rules were checked. */
function expand<T extends RuleTraceRow>(db: Db, rows: T[]): T[] {
  // late: a fired rule kept in its event's row (since issue 20). Where rules of two runs share a
  // number (the event's own, then channel.opened), it comes after the rows it used to follow: the
  // rule_traces rows written while the rules ran (a private channel opened).
  const out: (T & { order: number; late: number })[] = [];
  for (const r of rows) {
    if (r.rule_id !== UNMATCHED_ROW) {
      const d = JSON.parse(r.detail) as { i?: number };
      out.push({ ...r, order: d.i ?? 0, late: 0 });
      continue;
    }
    const d = JSON.parse(r.detail) as PackedRow;
    for (const { i, rule, fired, ...rest } of unpackUnmatched(db, d)) {
      // A rule that fired: its detail as its own rule_traces row had it.
      if (fired === true) out.push({ ...r, rule_id: rule, matched: 1, detail: JSON.stringify({ i, trigger: d.trigger, ...rest }), order: i, late: 1 });
      else out.push({ ...r, rule_id: rule, matched: 0, detail: JSON.stringify({ trigger: d.trigger, actions: [], ...rest }), order: i, late: 0 });
    }
  }
  // Rows of one event or job stay together, ordered as the rules were checked.
  const key = (r: RuleTraceRow) => `${r.event_id ?? ''}/${r.job_id ?? ''}`;
  const first = new Map<string, number>();
  out.forEach((r, n) => first.has(key(r)) || first.set(key(r), n));
  return out
    .sort((a, b) => first.get(key(a))! - first.get(key(b))! || a.order - b.order || a.late - b.late)
    .map(({ order: _order, late: _late, ...r }) => r as unknown as T);
}

/** An event row's packed lines as the shared rows they replace (rule_id '*', id -event id). */
function unmatchedRows(r: { id: number; member_id: string | null; at: number; unmatched: string | null; type?: string }): (RuleTraceRow & { event_type: string | null; line: number })[] {
  if (!r.unmatched) return [];
  return r.unmatched
    .split('\n')
    .filter((l) => l.length > 0)
    .map((detail, line) => ({ id: -r.id, event_id: r.id, job_id: null, member_id: r.member_id, rule_id: UNMATCHED_ROW, matched: 0, detail, at: r.at, event_type: r.type ?? null, line }));
}

type Sortable = RuleTraceRow & { line?: number };

/**
 * Newest first, as rule_traces' ids ordered them when every row was there: by time, then by event
 * (ids grow with handling), an event's own lines before its rules' rows (they were written first),
 * a job's rows after the events of the same moment.
 */
function newestFirst(a: Sortable, b: Sortable): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.event_id !== null && b.event_id !== null) {
    if (a.event_id !== b.event_id) return b.event_id - a.event_id;
    const aLine = a.line !== undefined;
    const bLine = b.line !== undefined;
    if (aLine !== bLine) return aLine ? 1 : -1;
    return aLine ? b.line! - a.line! : b.id - a.id;
  }
  if (a.event_id === null && b.event_id === null) return b.id - a.id;
  return a.event_id === null ? -1 : 1;
}

/** The most recent traces of a member, newest event first, with the event type they answered. */
export function recentTraces(db: Db, memberId: string, limit: number): (RuleTraceRow & { event_type: string | null })[] {
  const rows = stmt(
    db,
    `SELECT t.*, e.type AS event_type FROM rule_traces t LEFT JOIN events e ON e.id = t.event_id
     WHERE t.member_id = ? ORDER BY t.id DESC LIMIT ?`,
  ).all(memberId, limit) as (RuleTraceRow & { event_type: string | null })[];
  const events = stmt(db, 'SELECT id, member_id, at, type, unmatched FROM events WHERE member_id = ? AND unmatched IS NOT NULL ORDER BY id DESC LIMIT ?').all(memberId, limit) as {
    id: number;
    member_id: string | null;
    at: number;
    type: string;
    unmatched: string | null;
  }[];
  const merged = [...rows, ...events.flatMap(unmatchedRows)].sort(newestFirst).slice(0, limit);
  return expand(
    db,
    merged.map(({ line: _line, ...r }: Sortable & { event_type: string | null }) => r),
  ).slice(0, limit);
}

/** Every rule's outcome for one logged event, in the order the rules were checked. */
export function tracesOfEvent(db: Db, eventRowId: number): RuleTraceRow[] {
  const event = stmt(db, 'SELECT id, member_id, at, unmatched FROM events WHERE id = ?').get(eventRowId) as { id: number; member_id: string | null; at: number; unmatched: string | null } | undefined;
  const own = event ? unmatchedRows(event).map(({ line: _line, event_type: _type, ...r }) => r) : [];
  return expand(db, [...own, ...(stmt(db, 'SELECT * FROM rule_traces WHERE event_id = ? ORDER BY id').all(eventRowId) as RuleTraceRow[])]);
}

const LAST_FIRED = 'SELECT at FROM rule_fires WHERE member_id = ? AND rule_id = ?';

export function lastFired(db: Db, memberId: string, ruleId: string): number | undefined {
  const r = stmt(db, LAST_FIRED).get(memberId, ruleId) as { at: number } | undefined;
  return r?.at;
}

/** lastFired's read, to load ahead with an event's other reads (a rule's cooldown). */
export function lastFiredRead(memberId: string, ruleId: string): StoreRead {
  return { sql: LAST_FIRED, params: [memberId, ruleId], tables: ['rule_fires'] };
}

export function recordFire(db: Db, memberId: string, ruleId: string, at: number): void {
  later(db, 'INSERT INTO rule_fires (member_id, rule_id, at) VALUES (?, ?, ?) ON CONFLICT(member_id, rule_id) DO UPDATE SET at = excluded.at', memberId, ruleId, at);
}
