/**
 * A newcomer the member lists caught before their join event arrived.
 *
 * At login the import reads each group's member list while the platform is still handing kequn
 * the events of the last seconds: someone who joined just before the reading is in the list, is
 * recorded as "already there" (no welcome), and then their join event arrives. Without this the
 * newcomer never gets a welcome or a trial lesson (seen in the gRPC faults drill under load: the
 * five members who joined right after login were all imported).
 *
 * So a join of someone the import made within RACE_WINDOW_MS, who has done nothing since (their
 * membership still has no join seen, they never moved stage, this join is their first event), is
 * the join the list got ahead of: the import is taken back for them and the join is handled as a
 * newcomer's. A member who was really there before the bot and leaves and rejoins gets a leave
 * event first (their membership is then closed) and is not touched here.
 */
import type { RunContext } from '../../core/types.js';
import { getMembership } from '../../store/members.js';
import { stmt } from '../../store/statements.js';
import { importRowOf } from './store.js';

/** How long after a reading a join may still be one it got ahead of (events lag the lists by seconds). */
export const RACE_WINDOW_MS = 10 * 60_000;

export function joinAfterImport(ctx: RunContext): void {
  const group = ctx.trigger.group;
  if (group === null || ctx.trigger.type !== 'member.joined') return;
  const memberId = ctx.member.id;
  const imported = importRowOf(ctx.db, memberId);
  if (!imported || ctx.now - Number(imported.imported_at) > RACE_WINDOW_MS) return;
  const ms = getMembership(ctx.db, memberId, group);
  if (!ms || ms.left_at !== null || Number(ms.join_count) !== 0) return;
  const moves = Number((stmt(ctx.db, 'SELECT COUNT(*) AS n FROM stage_transitions WHERE member_id = ?').get(memberId) as { n: number }).n);
  const events = Number((stmt(ctx.db, 'SELECT COUNT(*) AS n FROM events WHERE member_id = ?').get(memberId) as { n: number }).n);
  if (moves !== 1 || events !== 1) return;
  const first = ctx.config.stageIds[0]!;
  // As if the import had never made them: made by this join, in the first stage, joined now.
  stmt(ctx.db, 'DELETE FROM member_imports WHERE member_id = ?').run(memberId);
  stmt(ctx.db, "UPDATE stage_transitions SET to_stage = ?, actor = 'first-seen', at = ? WHERE member_id = ? AND from_stage IS NULL").run(first, ctx.now, memberId);
  stmt(ctx.db, 'UPDATE members SET stage = ?, stage_since = ? WHERE id = ?').run(first, ctx.now, memberId);
  stmt(ctx.db, 'UPDATE memberships SET join_count = 1, joined_at = ? WHERE member_id = ? AND group_id = ?').run(ctx.now, memberId, group);
  ctx.note(`import taken back: joined ${group} just before the member list was read; handled as a newcomer`);
}
