import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

/** Referral codes, attribution decisions, referrals, paid orders and the reward ledger (migration 8). */

export interface ReferralCode {
  code: string;
  member_id: string;
  kind: 'random' | 'custom';
  created_at: number;
  retired_at: number | null;
}

export function activeCodeOf(db: Db, memberId: string): ReferralCode | undefined {
  return stmt(db, 'SELECT * FROM referral_codes WHERE member_id = ? AND retired_at IS NULL').get(memberId) as ReferralCode | undefined;
}

/** Any code ever issued, active or retired (a retired code is never reissued to someone else). */
export function findCode(db: Db, code: string): ReferralCode | undefined {
  return stmt(db, 'SELECT * FROM referral_codes WHERE code = ?').get(code) as ReferralCode | undefined;
}

/** Inserts a code; false when the code is taken (the caller draws another). */
export function insertCode(db: Db, args: { code: string; memberId: string; kind: 'random' | 'custom'; now: number }): boolean {
  return (
    stmt(db, 'INSERT INTO referral_codes (code, member_id, kind, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(code) DO NOTHING').run(
      args.code,
      args.memberId,
      args.kind,
      args.now,
    ).changes > 0
  );
}

export function retireCodes(db: Db, memberId: string, now: number): number {
  return stmt(db, 'UPDATE referral_codes SET retired_at = ? WHERE member_id = ? AND retired_at IS NULL').run(now, memberId).changes;
}

export function registerInviteLink(db: Db, args: { platform: string; link: string; memberId: string; groupId: string | null; now: number }): void {
  stmt(
    db,
    'INSERT INTO referral_invite_links (platform, link, member_id, group_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(platform, link) DO UPDATE SET member_id = excluded.member_id, group_id = excluded.group_id',
  ).run(args.platform, args.link, args.memberId, args.groupId, args.now);
}

export function findInviteLink(db: Db, platform: string, link: string): { member_id: string; group_id: string | null } | undefined {
  return stmt(db, 'SELECT member_id, group_id FROM referral_invite_links WHERE platform = ? AND link = ?').get(platform, link) as
    | { member_id: string; group_id: string | null }
    | undefined;
}

export function inviteLinksOf(db: Db, memberId: string): { platform: string; link: string; group_id: string | null }[] {
  return stmt(db, 'SELECT platform, link, group_id FROM referral_invite_links WHERE member_id = ? ORDER BY created_at').all(memberId) as {
    platform: string;
    link: string;
    group_id: string | null;
  }[];
}

export type ReferralSource = 'inviter' | 'invite_link' | 'code' | 'checkout';

export interface ReferralDecision {
  id: number;
  referred_id: string;
  referrer_id: string | null;
  source: ReferralSource;
  accepted: number;
  reason: string;
  evidence: string;
  event_id: number | null;
  at: number;
}

export function recordDecision(
  db: Db,
  d: { referredId: string; referrerId: string | null; source: ReferralSource; accepted: boolean; reason: string; evidence: unknown; eventId: number | null; now: number },
): number {
  const r = stmt(
    db,
    'INSERT INTO referral_decisions (referred_id, referrer_id, source, accepted, reason, evidence, event_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
  ).get(d.referredId, d.referrerId, d.source, d.accepted ? 1 : 0, d.reason, JSON.stringify(d.evidence), d.eventId, d.now) as { id: number };
  return r.id;
}

export function decisionsAbout(db: Db, referredId: string): ReferralDecision[] {
  return stmt(db, 'SELECT * FROM referral_decisions WHERE referred_id = ? ORDER BY id').all(referredId) as ReferralDecision[];
}

/** Codes a member tried in chat since `since` (the rate limit). */
export function countCodeAttempts(db: Db, referredId: string, since: number): number {
  return (stmt(db, "SELECT COUNT(*) AS n FROM referral_decisions WHERE referred_id = ? AND source = 'code' AND at >= ?").get(referredId, since) as { n: number })
    .n;
}

export interface Referral {
  referred_id: string;
  referrer_id: string;
  source: ReferralSource;
  decision_id: number;
  at: number;
}

export function referralOf(db: Db, referredId: string): Referral | undefined {
  return stmt(db, 'SELECT * FROM referrals WHERE referred_id = ?').get(referredId) as Referral | undefined;
}

/**
 * Whether `candidate` is among `memberId`'s referrers: their referrer, that one's referrer, and so
 * on up. UNION (not UNION ALL) drops a member seen before, so a cycle in the ledger ends the walk.
 */
export function referrerChainIncludes(db: Db, memberId: string, candidate: string): boolean {
  return (
    stmt(
      db,
      `WITH RECURSIVE up(id) AS (
         SELECT referrer_id FROM referrals WHERE referred_id = ?
         UNION
         SELECT r.referrer_id FROM referrals r JOIN up ON r.referred_id = up.id
       )
       SELECT 1 AS hit FROM up WHERE id = ? LIMIT 1`,
    ).get(memberId, candidate) !== undefined
  );
}

/** Inserts the referral; false when the member already has one (a racing referrer lost). */
export function insertReferral(db: Db, r: { referredId: string; referrerId: string; source: ReferralSource; decisionId: number; now: number }): boolean {
  return (
    stmt(db, 'INSERT INTO referrals (referred_id, referrer_id, source, decision_id, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(referred_id) DO NOTHING').run(
      r.referredId,
      r.referrerId,
      r.source,
      r.decisionId,
      r.now,
    ).changes > 0
  );
}

export function countReferrals(db: Db, referrerId: string): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM referrals WHERE referrer_id = ?').get(referrerId) as { n: number }).n;
}

/** Records a paid order; false when the hook already saw it (a redelivered payment). */
export function recordPaidOrder(db: Db, args: { orderId: string; memberId: string; now: number }): boolean {
  return (
    stmt(db, 'INSERT INTO referral_orders (order_id, member_id, paid_at) VALUES (?, ?, ?) ON CONFLICT(order_id) DO NOTHING').run(args.orderId, args.memberId, args.now)
      .changes > 0
  );
}

export function markOrderRefunded(db: Db, orderId: string, now: number): boolean {
  return stmt(db, 'UPDATE referral_orders SET refunded_at = ? WHERE order_id = ? AND refunded_at IS NULL').run(now, orderId).changes > 0;
}

/** Whether the member paid an order other than `exceptOrder` (refunded ones count: they were customers). */
export function hasPaidOrder(db: Db, memberId: string, exceptOrder?: string): boolean {
  return stmt(db, 'SELECT 1 FROM referral_orders WHERE member_id = ? AND order_id != ? LIMIT 1').get(memberId, exceptOrder ?? '') !== undefined;
}

/** Whether the member ever entered one of `stages` before `before` (by the stage record). */
export function everInStage(db: Db, memberId: string, stages: readonly string[], before: number): boolean {
  if (stages.length === 0) return false;
  const marks = stages.map(() => '?').join(', ');
  return stmt(db, `SELECT 1 FROM stage_transitions WHERE member_id = ? AND at < ? AND to_stage IN (${marks}) LIMIT 1`).get(memberId, before, ...stages) !== undefined;
}

export type LedgerEntry = 'reward' | 'tier_bonus' | 'reversal';
export type RewardKind = 'cashback' | 'coupon' | 'free_session';

export interface LedgerRow {
  id: number;
  referrer_id: string;
  referred_id: string | null;
  order_id: string | null;
  entry: LedgerEntry;
  kind: RewardKind;
  fen: number;
  tier: number | null;
  note: string;
  reverses: number | null;
  reversed_by: number | null;
  paid_out_at: number | null;
  created_at: number;
}

export function bookLedger(
  db: Db,
  e: { referrerId: string; referredId: string | null; orderId: string | null; entry: LedgerEntry; kind: RewardKind; fen: number; tier: number | null; note: string; reverses: number | null; now: number },
): number {
  const r = stmt(
    db,
    'INSERT INTO referral_ledger (referrer_id, referred_id, order_id, entry, kind, fen, tier, note, reverses, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
  ).get(e.referrerId, e.referredId, e.orderId, e.entry, e.kind, e.fen, e.tier, e.note, e.reverses, e.now) as { id: number };
  return r.id;
}

export function markReversed(db: Db, id: number, reversalId: number): boolean {
  return stmt(db, 'UPDATE referral_ledger SET reversed_by = ? WHERE id = ? AND reversed_by IS NULL').run(reversalId, id).changes > 0;
}

export function activeRewardFor(db: Db, referredId: string): LedgerRow | undefined {
  return stmt(db, "SELECT * FROM referral_ledger WHERE referred_id = ? AND entry = 'reward' AND reversed_by IS NULL").get(referredId) as LedgerRow | undefined;
}

export function activeRewardForOrder(db: Db, orderId: string): LedgerRow | undefined {
  return stmt(db, "SELECT * FROM referral_ledger WHERE order_id = ? AND entry = 'reward' AND reversed_by IS NULL").get(orderId) as LedgerRow | undefined;
}

export function activeTierBonuses(db: Db, referrerId: string): LedgerRow[] {
  return stmt(db, "SELECT * FROM referral_ledger WHERE referrer_id = ? AND entry = 'tier_bonus' AND reversed_by IS NULL ORDER BY tier").all(referrerId) as LedgerRow[];
}

/** Referred members whose pay earned the referrer a reward that still stands. */
export function countPaidReferrals(db: Db, referrerId: string): number {
  return (stmt(db, "SELECT COUNT(*) AS n FROM referral_ledger WHERE referrer_id = ? AND entry = 'reward' AND reversed_by IS NULL").get(referrerId) as { n: number }).n;
}

/** Net cash value of a referrer's ledger (rewards and bonuses minus reversals), fen. */
export function ledgerTotalFen(db: Db, referrerId: string): number {
  return (stmt(db, 'SELECT COALESCE(SUM(fen), 0) AS s FROM referral_ledger WHERE referrer_id = ?').get(referrerId) as { s: number }).s;
}

export function ledgerRows(db: Db, args: { referrerId?: string; limit: number }): LedgerRow[] {
  if (args.referrerId !== undefined) {
    return stmt(db, 'SELECT * FROM referral_ledger WHERE referrer_id = ? ORDER BY id DESC LIMIT ?').all(args.referrerId, args.limit) as LedgerRow[];
  }
  return stmt(db, 'SELECT * FROM referral_ledger ORDER BY id DESC LIMIT ?').all(args.limit) as LedgerRow[];
}

/** Entries not yet paid out, oldest first: what the export hands to the operator. */
export function unpaidLedger(db: Db): LedgerRow[] {
  return stmt(db, 'SELECT * FROM referral_ledger WHERE paid_out_at IS NULL ORDER BY referrer_id, id').all() as LedgerRow[];
}

export function markPaidOut(db: Db, ids: readonly number[], now: number): number {
  let n = 0;
  for (const id of ids) n += stmt(db, 'UPDATE referral_ledger SET paid_out_at = ? WHERE id = ? AND paid_out_at IS NULL').run(now, id).changes;
  return n;
}

/** Per-referrer totals, for /referrals. */
export function ledgerSummary(db: Db): { referrer_id: string; entries: number; fen: number; unpaid_fen: number }[] {
  return stmt(
    db,
    `SELECT referrer_id, COUNT(*) AS entries, SUM(fen) AS fen, SUM(CASE WHEN paid_out_at IS NULL THEN fen ELSE 0 END) AS unpaid_fen
     FROM referral_ledger GROUP BY referrer_id ORDER BY fen DESC`,
  ).all() as { referrer_id: string; entries: number; fen: number; unpaid_fen: number }[];
}
