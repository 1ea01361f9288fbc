/**
 * The digest's own reads, for what the dashboard does not show per day: who arrived and from
 * where, who moved to the paid stage, the questions still waiting, homework handed in, members
 * going quiet. Plain SQL for SQLite and PostgreSQL; staff are left out by the caller (few rows).
 */
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export interface NewMemberRow {
  id: string;
  display_name: string;
  /** The first group they joined (handle), or null. */
  first_group: string | null;
  /** `referral` (a referral code or a member's invitation), `channel:<tag>`, or `direct`. */
  source: string;
}

/**
 * Members first seen in [from, to), the imported ones left out (they were in a group before kequn:
 * not arrivals). Sources as the dashboard's revenue by source reads them, plus a member's invitation.
 */
export function newMembersBetween(db: Db, from: number, to: number): NewMemberRow[] {
  return stmt(
    db,
    `SELECT m.id, m.display_name,
            (SELECT g.group_id FROM memberships g WHERE g.member_id = m.id ORDER BY g.joined_at, g.group_id LIMIT 1) AS first_group,
            CASE WHEN EXISTS (SELECT 1 FROM referrals r WHERE r.referred_id = m.id)
                   OR EXISTS (SELECT 1 FROM memberships g WHERE g.member_id = m.id AND g.inviter_id IS NOT NULL) THEN 'referral'
                 ELSE COALESCE('channel:' || (SELECT pc.source FROM private_channels pc WHERE pc.member_id = m.id AND pc.source IS NOT NULL
                                              ORDER BY pc.opened_at, pc.platform LIMIT 1), 'direct') END AS source
     FROM members m
     WHERE m.created_at >= ? AND m.created_at < ? AND NOT EXISTS (SELECT 1 FROM member_imports i WHERE i.member_id = m.id)
     ORDER BY m.created_at, m.id`,
  ).all(from, to) as NewMemberRow[];
}

/** Members who entered `stage` in [from, to) from another stage (each once); an import's placement is no move. */
export function membersEnteredBetween(db: Db, stage: string, from: number, to: number): string[] {
  return (
    stmt(db, "SELECT DISTINCT member_id FROM stage_transitions WHERE to_stage = ? AND from_stage IS NOT NULL AND actor <> 'imported' AND at >= ? AND at < ? ORDER BY member_id").all(stage, from, to) as {
      member_id: string;
    }[]
  ).map((r) => r.member_id);
}

/** Questions waiting for an instructor (escalated) or for the LLM (pending), asked before `before`, oldest first. */
export function waitingQuestions(db: Db, before: number): { id: number; member_id: string }[] {
  return (stmt(db, "SELECT id, member_id FROM questions WHERE status IN ('escalated', 'pending') AND created_at < ? ORDER BY id").all(before) as { id: number; member_id: string }[]).map(
    (r) => ({ id: Number(r.id), member_id: r.member_id }),
  );
}

/** Homework handed in during [from, to) (a first submission, not a replaced link). */
export function homeworkSubmittedBetween(db: Db, from: number, to: number): { member_id: string; week: number }[] {
  return (stmt(db, 'SELECT member_id, week FROM homework_submissions WHERE submitted_at >= ? AND submitted_at < ?').all(from, to) as { member_id: string; week: number }[]).map((r) => ({
    member_id: r.member_id,
    week: Number(r.week),
  }));
}

/**
 * Members in one of `stages`, still in a group, last seen before `before`: quietest first by whole
 * days, then by name, so a list staff read twice (or a scenario) has one order whatever the
 * seconds of a last activity were (an import at login is stamped when the member lists arrive).
 */
export function quietMembers(db: Db, stages: string[], before: number): { id: string; display_name: string; last_seen_at: number }[] {
  if (stages.length === 0) return [];
  const marks = stages.map(() => '?').join(', ');
  return (
    stmt(
      db,
      `SELECT m.id, m.display_name, m.last_seen_at FROM members m
       WHERE m.stage IN (${marks}) AND m.last_seen_at < ?
         AND EXISTS (SELECT 1 FROM memberships g WHERE g.member_id = m.id AND g.left_at IS NULL)
       ORDER BY m.last_seen_at, m.id`,
    ).all(...stages, before) as { id: string; display_name: string; last_seen_at: number }[]
  )
    .map((r) => ({ ...r, last_seen_at: Number(r.last_seen_at) }))
    .sort((x, y) => quietDays(y.last_seen_at, before) - quietDays(x.last_seen_at, before) || x.display_name.localeCompare(y.display_name, 'zh-CN') || (x.id < y.id ? -1 : 1));
}

const quietDays = (lastSeen: number, before: number) => Math.floor((before - lastSeen) / 86_400_000);

/** Refunds that went through in [from, to) on CNY orders: how many, and how much (fen). */
export function refundsBetween(db: Db, from: number, to: number): { count: number; fen: number; members: string[] } {
  const rows = stmt(
    db,
    `SELECT o.member_id, f.amount FROM refunds f JOIN orders o ON o.id = f.order_id
     WHERE f.state = 'succeeded' AND f.finished_at >= ? AND f.finished_at < ? AND o.currency = 'CNY'`,
  ).all(from, to) as { member_id: string; amount: number }[];
  return { count: rows.length, fen: rows.reduce((a, r) => a + Number(r.amount), 0), members: rows.map((r) => r.member_id) };
}
