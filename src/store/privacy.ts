import { dialectOf, inTransaction, type Db } from './db.js';
import { forgetPrivateChannel, privateChannelExport } from './private-channel-privacy.js';

/**
 * Privacy requests (PIPL / GDPR): everything the store holds about one member, and forgetting it.
 * Forgetting keeps what accounting needs — orders, payments, refunds, referral rewards, with their
 * amounts — under the member's key, which is random and was never a platform id; everything that
 * names or identifies the person (display names, platform ids, message and question texts, notes,
 * links) is deleted or blanked, here and wherever it was quoted in someone else's rows.
 */

const FORGOTTEN = '[forgotten]';

type Row = Record<string, unknown>;

function all(db: Db, sql: string, ...args: unknown[]): Row[] {
  return db.prepare(sql).all(...args) as Row[];
}

/** Parses the JSON columns so the export reads as one document, not strings inside strings. */
function parsed(rows: Row[], ...columns: string[]): Row[] {
  return rows.map((r) => {
    const out = { ...r };
    for (const c of columns) {
      if (typeof out[c] === 'string') {
        try {
          out[c] = JSON.parse(out[c]);
        } catch {
          // not JSON: keep the text
        }
      }
    }
    return out;
  });
}

export interface MemberExport {
  exported_at: number;
  member: Row;
  identities: Row[];
  memberships: Row[];
  tags: Row[];
  stages: Row[];
  events: Row[];
  messages: Row[];
  jobs: Row[];
  checkins: Row[];
  homework: Row[];
  questions: Row[];
  /** The clarification menus they were offered (which FAQ entries, which they picked). */
  qa_menus: Row[];
  /** Phrasings and answers the Q&A learned from them: their picks from menus, their answers as staff. */
  taught: Row[];
  orders: Row[];
  payment_attempts: Row[];
  refunds: Row[];
  code_attempts: Row[];
  referral_codes: Row[];
  referral_invite_links: Row[];
  referred_by: Row[];
  referred: Row[];
  referral_decisions: Row[];
  referral_rewards: Row[];
  moderation: Row[];
  privacy_requests: Row[];
  /** Their private channels, the messages held for them, their friend requests. */
  private_channel: ReturnType<typeof privateChannelExport>;
}

/** Everything about member `id` (undefined when there is no such member). */
export function exportMember(db: Db, id: string, now: number): MemberExport | undefined {
  const member = db.prepare('SELECT * FROM members WHERE id = ?').get(id) as Row | undefined;
  if (!member) return undefined;
  const orderIds = 'SELECT id FROM orders WHERE member_id = ?';
  return {
    exported_at: now,
    member,
    identities: all(db, 'SELECT platform, platform_id, display_name FROM identities WHERE member_id = ? ORDER BY platform, platform_id', id),
    memberships: all(db, 'SELECT group_id, joined_at, left_at, inviter_id, join_count FROM memberships WHERE member_id = ? ORDER BY joined_at', id),
    tags: all(db, 'SELECT tag, added_at FROM member_tags WHERE member_id = ? ORDER BY added_at', id),
    stages: all(db, 'SELECT from_stage, to_stage, event_id, rule_id, actor, at FROM stage_transitions WHERE member_id = ? ORDER BY id', id),
    events: parsed(all(db, 'SELECT id, type, platform, group_id, payload, at FROM events WHERE member_id = ? ORDER BY id', id), 'payload'),
    messages: all(db, 'SELECT id, platform, chat_kind, chat_id, group_id, text, status, created_at, sent_at FROM outbox WHERE member_id = ? ORDER BY id', id),
    jobs: parsed(all(db, 'SELECT id, kind, payload, due_at, status, finished_at FROM jobs WHERE member_id = ? ORDER BY id', id), 'payload'),
    checkins: all(db, 'SELECT day, kind, group_id, note, at FROM checkins WHERE member_id = ? ORDER BY day', id),
    homework: all(db, 'SELECT week, link, late, submitted_at, updated_at, reviewed_at FROM homework_submissions WHERE member_id = ? ORDER BY week', id),
    questions: parsed(all(db, 'SELECT id, platform, group_id, text, status, entry_id, answer, answered_via, created_at, answered_at FROM questions WHERE member_id = ? ORDER BY id', id)),
    qa_menus: parsed(all(db, 'SELECT question_id, platform, group_id, choices, created_at, closes_at, status, picked FROM qa_menus WHERE member_id = ? ORDER BY id', id), 'choices'),
    // A staff member's answer was to someone else's question: their answer, not the asker's words.
    taught: all(db, "SELECT id, entry_id, CASE WHEN via = 'choice' THEN question END AS question, answer, via, created_at, removed_at FROM faq_learned WHERE taught_by = ? ORDER BY id", id),
    orders: parsed(
      all(db, 'SELECT id, product_id, currency, list_amount, amount, discounts, code, state, provider, transaction_id, paid_amount, refunded_amount, created_at, paid_at, closed_at FROM orders WHERE member_id = ? ORDER BY created_at', id),
      'discounts',
    ),
    payment_attempts: all(db, `SELECT out_trade_no, order_id, provider, method, amount, state, created_at FROM payment_attempts WHERE order_id IN (${orderIds}) ORDER BY created_at`, id),
    refunds: all(db, `SELECT out_refund_no, order_id, amount, reason, state, created_at, finished_at FROM refunds WHERE order_id IN (${orderIds}) ORDER BY created_at`, id),
    code_attempts: all(db, 'SELECT order_id, client, code, outcome, at, repeats FROM code_attempts WHERE member_id = ? ORDER BY id', id),
    referral_codes: all(db, 'SELECT code, kind, created_at, retired_at FROM referral_codes WHERE member_id = ? ORDER BY created_at', id),
    referral_invite_links: all(db, 'SELECT platform, link, group_id, created_at FROM referral_invite_links WHERE member_id = ? ORDER BY created_at', id),
    referred_by: all(db, 'SELECT referrer_id, source, at FROM referrals WHERE referred_id = ?', id),
    referred: all(db, 'SELECT referred_id, source, at FROM referrals WHERE referrer_id = ? ORDER BY at', id),
    referral_decisions: parsed(all(db, 'SELECT id, referrer_id, source, accepted, reason, evidence, at FROM referral_decisions WHERE referred_id = ? ORDER BY id', id), 'evidence'),
    referral_rewards: all(db, 'SELECT id, referred_id, order_id, entry, kind, fen, tier, note, reverses, reversed_by, paid_out_at, created_at FROM referral_ledger WHERE referrer_id = ? ORDER BY id', id),
    moderation: all(db, 'SELECT platform, group_id, action, reason, evidence, at FROM moderation_log WHERE member_id = ? ORDER BY id', id),
    privacy_requests: all(db, 'SELECT action, at FROM privacy_requests WHERE member_id = ? ORDER BY id', id),
    private_channel: privateChannelExport(db, id),
  };
}

/** Records that a member's data was exported (the request log keeps no personal data). */
export function recordPrivacyRequest(db: Db, memberId: string, action: 'export' | 'forget', now: number): void {
  db.prepare('INSERT INTO privacy_requests (member_id, action, at) VALUES (?, ?, ?)').run(memberId, action, now);
}

/**
 * Free-text and JSON columns where a person's name, platform id or words can be quoted — in their
 * own rows or in someone else's (the inviter in a join, a question forwarded to the staff). After
 * the member's own rows are blanked, every occurrence of their strings here is replaced.
 */
const QUOTING_COLUMNS: [table: string, column: string][] = [
  ['events', 'payload'],
  ['events', 'dedupe_key'],
  ['outbox', 'text'],
  ['outbox', 'chat_id'],
  ['outbox', 'last_error'],
  ['jobs', 'payload'],
  ['jobs', 'dedupe_key'],
  ['jobs', 'note'],
  ['rule_traces', 'detail'],
  ['events', 'unmatched'],
  ['questions', 'text'],
  ['questions', 'answer'],
  ['faq_learned', 'question'],
  ['faq_learned', 'answer'],
  ['checkins', 'note'],
  ['reminders_sent', 'key'],
  ['referral_decisions', 'evidence'],
  ['referral_decisions', 'reason'],
  ['referral_ledger', 'note'],
  ['payment_attempts', 'last_result'],
  ['refunds', 'reason'],
  ['refunds', 'last_error'],
  ['moderation_log', 'evidence'],
  ['notices', 'text'],
  ['notices', 'line'],
  ['moderation_log', 'reason'],
  ['platform_actions', 'user_id'],
  ['platform_actions', 'detail'],
  ['platform_actions', 'error'],
  ['announcements', 'author_platform_id'],
  ['announcements', 'text'],
  ['held_messages', 'text'],
  ['identities', 'display_name'],
  ['members', 'display_name'],
];

/** Unique columns: a replacement must not make two rows' values equal. */
const KEY_COLUMNS = new Set(['events.dedupe_key', 'jobs.dedupe_key', 'reminders_sent.key']);

/** Shorter strings are not swept from other people's rows: "Li" would garble every "List". */
const MIN_SWEEP_CHARS = 2;
/** Message texts shorter than this ("打卡", "ok") say nothing about the person; not swept elsewhere. */
const MIN_SWEEP_TEXT_CHARS = 6;

export interface ForgetResult {
  memberId: string;
  /** The strings that were removed (returned to the caller for its checks; never logged). */
  removed: string[];
  rowsChanged: number;
  ordersKept: number;
}

/**
 * Forgets member `id`: deletes or blanks their personal data, cancels what was still going to
 * reach them, and keeps orders, payments, refunds and referral ledger rows (amounts, states,
 * dates, product) under the pseudonymous member key. Idempotent.
 */
/** The `text` of a message event's JSON payload, if it is a string. */
function messageText(payload: string): string | null {
  try {
    const t = (JSON.parse(payload) as { text?: unknown } | null)?.text;
    return typeof t === 'string' ? t : null;
  } catch {
    return null;
  }
}

export function forgetMember(db: Db, id: string, now: number, after: readonly ((db: Db, memberId: string) => void)[] = []): ForgetResult | undefined {
  return inTransaction(db, () => {
    const member = db.prepare('SELECT id, display_name FROM members WHERE id = ?').get(id) as { id: string; display_name: string } | undefined;
    if (!member) return undefined;
    const identities = db.prepare('SELECT platform, platform_id, display_name FROM identities WHERE member_id = ?').all(id) as { platform: string; platform_id: string; display_name: string }[];
    const texts = [
      // Payloads parsed here, not with SQL JSON functions: the same on SQLite and PostgreSQL.
      ...(db.prepare("SELECT payload FROM events WHERE member_id = ? AND type = 'message'").all(id) as { payload: string }[]).map((r) => messageText(r.payload)),
      ...(db.prepare('SELECT text AS t FROM questions WHERE member_id = ?').all(id) as { t: string }[]).map((r) => r.t),
      ...(db.prepare('SELECT note AS t FROM checkins WHERE member_id = ?').all(id) as { t: string }[]).map((r) => r.t),
      ...(db.prepare('SELECT link AS t FROM homework_submissions WHERE member_id = ?').all(id) as { t: string }[]).map((r) => r.t),
    ].filter((t): t is string => typeof t === 'string' && t.trim().length >= MIN_SWEEP_TEXT_CHARS);
    const openids = (db.prepare('SELECT payer_openid AS t FROM orders WHERE member_id = ? AND payer_openid IS NOT NULL').all(id) as { t: string }[]).map((r) => r.t);
    const strings = [member.display_name, ...identities.flatMap((i) => [i.platform_id, i.display_name]), ...openids].filter((s) => s.length >= MIN_SWEEP_CHARS);
    // Longest first: a name that contains another is replaced whole.
    const removed = [...new Set([...strings, ...texts])].sort((a, b) => b.length - a.length);
    let changed = 0;
    const run = (sql: string, ...args: unknown[]) => {
      changed += db.prepare(sql).run(...args).changes;
    };

    // Their own rows first, wholesale: what they said, where they can be reached.
    for (const type of db.prepare('SELECT DISTINCT type FROM events WHERE member_id = ?').pluck().all(id) as string[]) {
      run(`UPDATE events SET payload = ?, dedupe_key = 'forgotten:' || id, unmatched = NULL WHERE member_id = ? AND type = ?`, JSON.stringify({ type, forgotten: 1 }), id, type);
    }
    run(`UPDATE outbox SET status = 'failed', last_error = 'member forgotten' WHERE member_id = ? AND status IN ('pending', 'sending', 'uncertain')`, id);
    run(`UPDATE outbox SET text = ?, chat_id = CASE chat_kind WHEN 'dm' THEN ? ELSE chat_id END WHERE member_id = ?`, FORGOTTEN, FORGOTTEN, id);
    run(`UPDATE jobs SET status = 'cancelled', finished_at = ?, note = 'member forgotten' WHERE member_id = ? AND status = 'pending'`, now, id);
    run(`UPDATE jobs SET payload = '{}' WHERE member_id = ?`, id);
    run('DELETE FROM rule_traces WHERE member_id = ?', id);
    run('DELETE FROM rule_fires WHERE member_id = ?', id);
    // What instructors taught from this member's questions is their words: it goes too.
    // Embedding vectors are cached by a hash of the text, so the vectors of their wordings cannot
    // be told apart from the FAQ's: if they taught any, the cache goes (the FAQ is embedded again).
    const taught = (db.prepare('SELECT COUNT(*) AS n FROM faq_learned WHERE question_id IN (SELECT id FROM questions WHERE member_id = ?)').get(id) as { n: number }).n;
    if (taught > 0) run('DELETE FROM qa_vectors');
    run('DELETE FROM faq_learned WHERE question_id IN (SELECT id FROM questions WHERE member_id = ?)', id);
    // Their clarification menus (which entries they were offered); what they taught as staff stays, unsigned.
    run('DELETE FROM qa_menus WHERE member_id = ?', id);
    run('UPDATE faq_learned SET taught_by = NULL WHERE taught_by = ?', id);
    run(`UPDATE questions SET text = ?, asker_platform_id = ?, chat_id = CASE WHEN group_id IS NULL THEN ? ELSE chat_id END, candidates = NULL WHERE member_id = ?`, FORGOTTEN, FORGOTTEN, FORGOTTEN, id);
    run(`UPDATE checkins SET note = '' WHERE member_id = ?`, id);
    // Moderation keeps what was done and why (the rule), not the words that triggered it.
    run(`UPDATE moderation_log SET evidence = '' WHERE member_id = ?`, id);
    run(`UPDATE homework_submissions SET link = ? WHERE member_id = ?`, FORGOTTEN, id);
    run('DELETE FROM referral_invite_links WHERE member_id = ?', id);
    // Codes they typed at checkout, with the address they typed them from.
    run('DELETE FROM code_attempts WHERE member_id = ?', id);
    run('UPDATE referral_codes SET retired_at = ? WHERE member_id = ? AND retired_at IS NULL', now, id);
    for (const i of identities) {
      run('DELETE FROM telegram_unreachable WHERE chat_id = ?', i.platform_id);
      // Their private chat with each account (which instance answers them): their platform id.
      run('DELETE FROM chat_owners WHERE platform = ? AND chat_id = ?', i.platform, i.platform_id);
      run('DELETE FROM chat_reach WHERE platform = ? AND chat_id = ?', i.platform, i.platform_id);
    }
    changed += forgetPrivateChannel(db, id);
    // Accounting keeps the order; how to reach the payer does not stay.
    run(`UPDATE orders SET platform_id = ?, payer_openid = NULL WHERE member_id = ?`, FORGOTTEN, id);
    run('DELETE FROM identities WHERE member_id = ?', id);
    run(`UPDATE members SET display_name = '' WHERE id = ?`, id);

    // Then every quote of them anywhere else; in JSON columns also as JSON escapes it.
    // Key columns get a per-member placeholder: two forgotten members' keys must stay distinct.
    const keyPlaceholder = `[forgotten ${id}]`;
    const position = dialectOf(db) === 'postgres' ? 'strpos' : 'instr';
    for (const raw of removed) {
      for (const s of new Set([raw, JSON.stringify(raw).slice(1, -1)])) {
        for (const [table, column] of QUOTING_COLUMNS) {
          const placeholder = KEY_COLUMNS.has(`${table}.${column}`) ? keyPlaceholder : FORGOTTEN;
          run(`UPDATE ${table} SET ${column} = replace(${column}, ?, ?) WHERE ${position}(${column}, ?) > 0`, s, placeholder, s);
        }
      }
    }
    // What features derived from the erased rows follows, in the same transaction (the
    // dashboard's rollups of this member are recomputed from what is left: Feature.privacy.forget).
    for (const f of after) f(db, id);
    recordPrivacyRequest(db, id, 'forget', now);
    const ordersKept = (db.prepare('SELECT count(*) AS n FROM orders WHERE member_id = ?').get(id) as { n: number }).n;
    return { memberId: id, removed, rowsChanged: changed, ordersKept };
  });
}

/** True when the member was forgotten (the request log says so). */
export function wasForgotten(db: Db, id: string): boolean {
  return db.prepare("SELECT 1 FROM privacy_requests WHERE member_id = ? AND action = 'forget'").get(id) !== undefined;
}
