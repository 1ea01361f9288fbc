import { dialectOf, type Db } from './db.js';
import { followChatOwner } from './outbox.js';
import { stmt, type Sql } from './statements.js';

/**
 * Instances, chat owners and reach: how several kequn processes on one PostgreSQL store share
 * the work (docs/deploy.md). Every statement here is a single atomic UPDATE or INSERT, so two
 * processes racing for the same row get one winner without an explicit lock.
 */

export interface InstanceRow {
  name: string;
  started_at: number;
  heartbeat_at: number;
  pid: number | null;
  host: string | null;
}

export function registerInstance(db: Db, i: { name: string; now: number; pid: number; host: string }): void {
  stmt(
    db,
    `INSERT INTO instances (name, started_at, heartbeat_at, pid, host) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, pid = excluded.pid, host = excluded.host`,
  ).run(i.name, i.now, i.now, i.pid, i.host);
}

export const heartbeatSql = (name: string, now: number): Sql => ({ sql: 'UPDATE instances SET heartbeat_at = ? WHERE name = ?', params: [now, name] });

export function listInstances(db: Db): InstanceRow[] {
  return stmt(db, 'SELECT * FROM instances ORDER BY name').all() as InstanceRow[];
}

export function chatOwner(db: Db, platform: string, chatId: string): { instance: string; heartbeat_at: number | null } | undefined {
  return stmt(
    db,
    'SELECT c.instance, i.heartbeat_at FROM chat_owners c LEFT JOIN instances i ON i.name = c.instance WHERE c.platform = ? AND c.chat_id = ?',
  ).get(platform, chatId) as { instance: string; heartbeat_at: number | null } | undefined;
}

/**
 * The chats whose owner changed at `since` or later (every claim, move and takeover sets the
 * time), and the instances there are: what a heartbeat reads to keep its cached owners true.
 */
export const ownersChangedSql = (since: number): Sql => ({ sql: 'SELECT platform, chat_id, instance FROM chat_owners WHERE since >= ?', params: [since] });
export const instancesSql: Sql = { sql: 'SELECT name FROM instances', params: [] };

/** Makes `instance` the owner of a chat nobody owns yet; the owner afterwards (maybe another). */
export function claimChat(db: Db, platform: string, chatId: string, instance: string, now: number): string {
  const claimed = stmt(db, 'INSERT INTO chat_owners (platform, chat_id, instance, since) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(platform, chatId, instance, now).changes > 0;
  // Its messages queued while nobody owned it are this instance's to send now (migration 27).
  if (claimed) followChatOwner(db, platform, chatId);
  return (stmt(db, 'SELECT instance FROM chat_owners WHERE platform = ? AND chat_id = ?').get(platform, chatId) as { instance: string }).instance;
}

/**
 * Moves a chat from `from` to `to`; false when `from` no longer owns it (someone else took it
 * first: on PostgreSQL the second UPDATE waits for the first and then finds no match).
 */
export function moveChat(db: Db, platform: string, chatId: string, from: string, to: string, now: number): boolean {
  const moved = stmt(db, 'UPDATE chat_owners SET instance = ?, since = ? WHERE platform = ? AND chat_id = ? AND instance = ?').run(to, now, platform, chatId, from).changes > 0;
  if (moved) followChatOwner(db, platform, chatId);
  return moved;
}

/** Makes `instance` the owner of a chat whoever owned it (a member wrote to this account). */
export function takeChat(db: Db, platform: string, chatId: string, instance: string, now: number): void {
  const changed = stmt(
    db,
    `INSERT INTO chat_owners (platform, chat_id, instance, since) VALUES (?, ?, ?, ?)
     ON CONFLICT(platform, chat_id) DO UPDATE SET instance = excluded.instance, since = excluded.since WHERE chat_owners.instance <> excluded.instance`,
  ).run(platform, chatId, instance, now).changes;
  // The chat's queued messages go with it (in order: they are still the queue's first).
  if (changed > 0) followChatOwner(db, platform, chatId);
}

/** Records that `instance` can reach a chat (first time only; cheap to repeat). */
export function recordReach(db: Db, platform: string, chatId: string, instance: string, now: number): void {
  stmt(db, 'INSERT INTO chat_reach (platform, chat_id, instance, seen_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(platform, chatId, instance, now);
}

/**
 * Takes over every chat whose owner is gone (heartbeat before `goneBefore`) and that `me` can
 * reach (its changes: the chats that moved).
 */
export const takeOverSql = (me: string, goneBefore: number, now: number): Sql => ({
  sql: `UPDATE chat_owners SET instance = ?, since = ?
      WHERE instance <> ?
        AND instance IN (SELECT name FROM instances WHERE heartbeat_at < ? AND name <> ?)
        AND EXISTS (SELECT 1 FROM chat_reach r WHERE r.platform = chat_owners.platform AND r.chat_id = chat_owners.chat_id AND r.instance = ?)`,
  params: [me, now, me, goneBefore, me, me],
});

/** On a single-process store (SQLite) every chat is this instance's, whatever name ran before. */
export function takeAllChats(db: Db, me: string, now: number): number {
  return stmt(db, 'UPDATE chat_owners SET instance = ?, since = ? WHERE instance <> ?').run(me, now, me).changes;
}

/**
 * Sends and platform actions that a gone instance claimed and never finished may or may not have
 * reached the platform: parked as uncertain (never repeated), as after a crash.
 */
export function parkWorkSql(me: string, goneBefore: number): { messages: Sql; actions: Sql } {
  const gone = 'SELECT name FROM instances WHERE heartbeat_at < ? AND name <> ?';
  return {
    messages: { sql: `UPDATE outbox SET status = 'uncertain', last_error = 'its kequn instance stopped during the send' WHERE status = 'sending' AND claimed_by IN (${gone})`, params: [goneBefore, me] },
    actions: { sql: `UPDATE platform_actions SET status = 'failed', error = 'its kequn instance stopped during the call; not repeated' WHERE status = 'doing' AND claimed_by IN (${gone})`, params: [goneBefore, me] },
  };
}

export interface InstanceSummary extends InstanceRow {
  chats: number;
  waiting: number;
  sent_since: number;
}

/**
 * Per instance: the chats it owns, the messages waiting to go out through it, and what it sent
 * since `since` (`kequn instances`). Messages to chats nobody owns yet are under the name `null`.
 */
export function instanceSummaries(db: Db, since: number): { instances: InstanceSummary[]; unownedWaiting: number } {
  const byName = <T extends { instance: string | null; n: number }>(rows: T[]) => new Map(rows.map((r) => [r.instance, Number(r.n)]));
  const chats = byName(stmt(db, 'SELECT instance, COUNT(*) AS n FROM chat_owners GROUP BY instance').all() as { instance: string; n: number }[]);
  const waiting = byName(
    stmt(
      db,
      "SELECT c.instance, COUNT(*) AS n FROM outbox o LEFT JOIN chat_owners c ON c.platform = o.platform AND c.chat_id = o.chat_id WHERE o.status = 'pending' GROUP BY c.instance",
    ).all() as { instance: string | null; n: number }[],
  );
  const sent = byName(stmt(db, "SELECT claimed_by AS instance, COUNT(*) AS n FROM outbox WHERE status = 'sent' AND sent_at >= ? GROUP BY claimed_by").all(since) as { instance: string; n: number }[]);
  const instances = listInstances(db).map((i) => ({ ...i, chats: chats.get(i.name) ?? 0, waiting: waiting.get(i.name) ?? 0, sent_since: sent.get(i.name) ?? 0 }));
  return { instances, unownedWaiting: waiting.get(null) ?? 0 };
}

/**
 * Retires an instance for good (its account is banned or given up): each of its chats goes to
 * another instance that can reach it (the first by name), the rest become unowned (whoever the
 * member writes to next, or the first instance that can send, takes them), and it is removed.
 */
export function retireInstance(db: Db, name: string, now: number): { moved: number; released: number } {
  const moved = stmt(
    db,
    `UPDATE chat_owners SET since = ?, instance = (
        SELECT MIN(r.instance) FROM chat_reach r WHERE r.platform = chat_owners.platform AND r.chat_id = chat_owners.chat_id AND r.instance <> ?)
      WHERE instance = ? AND EXISTS (SELECT 1 FROM chat_reach r WHERE r.platform = chat_owners.platform AND r.chat_id = chat_owners.chat_id AND r.instance <> ?)`,
  ).run(now, name, name, name).changes;
  const released = stmt(db, 'DELETE FROM chat_owners WHERE instance = ?').run(name).changes;
  stmt(db, 'DELETE FROM chat_reach WHERE instance = ?').run(name);
  stmt(db, 'DELETE FROM instances WHERE name = ?').run(name);
  // Its queued messages go to their chats' new owners, or become anyone's (migration 27).
  if (dialectOf(db) !== 'sqlite') {
    stmt(
      db,
      "UPDATE outbox SET owner = (SELECT c.instance FROM chat_owners c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id) WHERE status = 'pending' AND owner = ?",
    ).run(name);
  }
  return { moved, released };
}
