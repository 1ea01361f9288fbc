import type { StatsScope } from './dashboard.js';
import { jsonArrayValuesSql } from './sql.js';
import type { Db } from '../../../store/db.js';
import { stmt } from '../../../store/statements.js';

/**
 * The private-channel funnel's reads (src/flows/dashboard/channel-funnel.ts turns them into figures): the
 * cohort is the funnel's (members first seen in the range), narrowed to those who joined a course
 * group (with a group filter: that group), staff left out. Each step is a set of members read once
 * (`IN (SELECT …)`: SQLite builds it once per query, PostgreSQL hashes it), not a lookup per member
 * per table: at 100,000 members that is the difference between seconds and a few hundred ms.
 */
export type ChannelScope = StatsScope;

function cohortSql(db: Db): string {
  return `cohort AS (
  SELECT m.id FROM members m
  WHERE m.created_at >= @from AND m.created_at < @to
    AND m.id IN (SELECT g.member_id FROM memberships g WHERE CAST(@group AS TEXT) IS NULL OR g.group_id = @group)
    AND (CAST(@cohort AS TEXT) IS NULL OR m.id IN (SELECT cm.member_id FROM cohort_members cm WHERE cm.cohort_id = @cohort))
    AND m.id NOT IN (${jsonArrayValuesSql(db, 'staff')})
)`;
}

const OPENED = 'SELECT member_id FROM private_channels WHERE opened_at IS NOT NULL AND member_id IS NOT NULL';
const LESSON = "SELECT member_id FROM outbox WHERE lesson IS NOT NULL AND status = 'sent' AND chat_kind = 'dm' AND member_id IS NOT NULL";
const ASKED = 'SELECT member_id FROM questions';
const PAID = 'SELECT member_id FROM orders WHERE paid_at IS NOT NULL';

function params(s: ChannelScope) {
  return { from: s.from, to: s.to, group: s.group, cohort: s.cohort, staff: JSON.stringify(s.staff) };
}

/** What each cohort member did: one row per combination of the steps, with how many members. */
export function channelStepCombos(db: Db, s: ChannelScope): { opened: number; lesson: number; asked: number; paid: number; members: number }[] {
  return stmt(
    db,
    `WITH ${cohortSql(db)}, steps AS (
       SELECT CASE WHEN c.id IN (${OPENED}) THEN 1 ELSE 0 END AS opened,
              CASE WHEN c.id IN (${LESSON}) THEN 1 ELSE 0 END AS lesson,
              CASE WHEN c.id IN (${ASKED}) THEN 1 ELSE 0 END AS asked,
              CASE WHEN c.id IN (${PAID}) THEN 1 ELSE 0 END AS paid
       FROM cohort c
     )
     SELECT opened, lesson, asked, paid, COUNT(*) AS members FROM steps GROUP BY opened, lesson, asked, paid`,
  ).all(params(s)) as { opened: number; lesson: number; asked: number; paid: number; members: number }[];
}

/**
 * Per platform: cohort members with an identity there (joined), of whom the private channel
 * there opened, and of whom got a lesson privately there.
 */
export function channelByPlatform(db: Db, s: ChannelScope): { platform: string; joined: number; opened: number; lesson: number }[] {
  return stmt(
    db,
    `WITH ${cohortSql(db)}, mine AS (SELECT i.member_id, i.platform, i.platform_id FROM cohort c JOIN identities i ON i.member_id = c.id)
     SELECT x.platform AS platform, COUNT(*) AS joined,
            COALESCE(SUM(CASE WHEN pc.opened_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS opened,
            COALESCE(SUM(CASE WHEN x.platform || ':' || x.member_id IN (SELECT o.platform || ':' || o.member_id FROM outbox o WHERE o.lesson IS NOT NULL AND o.status = 'sent' AND o.chat_kind = 'dm' AND o.member_id IS NOT NULL) THEN 1 ELSE 0 END), 0) AS lesson
     FROM mine x LEFT JOIN private_channels pc ON pc.platform = x.platform AND pc.chat_id = x.platform_id
     GROUP BY x.platform ORDER BY x.platform`,
  ).all(params(s)) as { platform: string; joined: number; opened: number; lesson: number }[];
}

/** Channels opened by the cohort, by acquisition tag ('' for none), and of those members how many paid. */
export function channelBySource(db: Db, s: ChannelScope): { source: string; opened: number; paid: number }[] {
  return stmt(
    db,
    `WITH ${cohortSql(db)}, opened AS (
       SELECT DISTINCT c.id, COALESCE(pc.source, '') AS source FROM cohort c JOIN private_channels pc ON pc.member_id = c.id WHERE pc.opened_at IS NOT NULL
     )
     SELECT source, COUNT(*) AS opened, COALESCE(SUM(CASE WHEN id IN (${PAID}) THEN 1 ELSE 0 END), 0) AS paid
     FROM opened GROUP BY source ORDER BY source`,
  ).all(params(s)) as { source: string; opened: number; paid: number }[];
}

/** Cohort members who got each lesson privately. */
export function lessonsDelivered(db: Db, s: ChannelScope): { lesson: number; members: number }[] {
  return stmt(
    db,
    `WITH ${cohortSql(db)}
     SELECT o.lesson AS lesson, COUNT(DISTINCT o.member_id) AS members
     FROM outbox o
     WHERE o.lesson IS NOT NULL AND o.status = 'sent' AND o.chat_kind = 'dm' AND o.member_id IN (SELECT id FROM cohort)
     GROUP BY o.lesson ORDER BY o.lesson`,
  ).all(params(s)) as { lesson: number; members: number }[];
}

/**
 * Private messages held in the range (with a group: for members who joined it; staff left out),
 * by what became of them, and sequences that waited for a channel, by outcome.
 */
export function heldOutcomes(db: Db, s: ChannelScope): { messages: { state: string; n: number }[]; sequences: { state: string; n: number }[] } {
  const whose = `x.member_id NOT IN (${jsonArrayValuesSql(db, 'staff')})
    AND (CAST(@group AS TEXT) IS NULL OR x.member_id IN (SELECT g.member_id FROM memberships g WHERE g.group_id = @group))
    AND (CAST(@cohort AS TEXT) IS NULL OR x.member_id IN (SELECT cm.member_id FROM cohort_members cm WHERE cm.cohort_id = @cohort))`;
  const messages = stmt(
    db,
    `SELECT x.state AS state, COUNT(*) AS n FROM held_messages x
     WHERE x.held_at >= @from AND x.held_at < @to AND x.member_id IS NOT NULL AND ${whose} GROUP BY x.state`,
  ).all(params(s)) as { state: string; n: number }[];
  const sequences = stmt(
    db,
    `SELECT x.state AS state, COUNT(*) AS n FROM channel_waits x
     WHERE x.created_at >= @from AND x.created_at < @to AND ${whose} GROUP BY x.state`,
  ).all(params(s)) as { state: string; n: number }[];
  return { messages, sequences };
}
