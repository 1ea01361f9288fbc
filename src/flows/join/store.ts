/**
 * The join page's tables (migration "join page"): QR codes, Telegram invite links per channel,
 * page views, channel attributions and what staff were last told about a pool. Plain functions
 * over `Db`; every query runs on SQLite and PostgreSQL.
 */
import { dialectOf, type Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

/** Current members of a group as the store knows them (joins and presence, minus leaves). */
export function countGroupMembers(db: Db, groupId: string): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM memberships WHERE group_id = ? AND left_at IS NULL').get(groupId) as { n: number }).n;
}

export interface QrRow {
  id: number;
  group_id: string;
  kind: 'upload' | 'puppet';
  file: string | null;
  mime: string | null;
  qr_text: string | null;
  created_at: number;
  expires_at: number;
  reminded_at: number | null;
  created_by: string | null;
}

/** The group's newest QR code that is still valid at `now` (an expired one is never returned). */
export function currentQr(db: Db, groupId: string, now: number): QrRow | undefined {
  return stmt(db, 'SELECT * FROM join_qr WHERE group_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 1').get(groupId, now) as QrRow | undefined;
}

/** The group's newest QR code, valid or not. */
export function latestQr(db: Db, groupId: string): QrRow | undefined {
  return stmt(db, 'SELECT * FROM join_qr WHERE group_id = ? ORDER BY created_at DESC, id DESC LIMIT 1').get(groupId) as QrRow | undefined;
}

export function insertQr(
  db: Db,
  q: { groupId: string; kind: 'upload' | 'puppet'; file?: string; mime?: string; qrText?: string; now: number; expiresAt: number; createdBy: string | null },
): number {
  return (
    stmt(db, 'INSERT INTO join_qr (group_id, kind, file, mime, qr_text, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id').get(
      q.groupId,
      q.kind,
      q.file ?? null,
      q.mime ?? null,
      q.qrText ?? null,
      q.now,
      q.expiresAt,
      q.createdBy,
    ) as { id: number }
  ).id;
}

/** Stores an uploaded QR image's bytes for its join_qr row (a second write for the row changes nothing). */
export function insertQrImage(db: Db, qrId: number, bytes: Uint8Array): void {
  stmt(db, 'INSERT INTO join_qr_images (qr_id, bytes) VALUES (?, ?) ON CONFLICT (qr_id) DO NOTHING').run(qrId, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** An uploaded QR image as base64 (what the page's data: URL needs), or undefined when the store has none for the row. */
export function qrImageBase64(db: Db, qrId: number): string | undefined {
  // PostgreSQL encodes it on the server (its base64 breaks lines every 76 characters: taken out);
  // SQLite hands the bytes over.
  if (dialectOf(db) === 'postgres') {
    const row = stmt(db, "SELECT translate(encode(bytes, 'base64'), E'\\n', '') AS b64 FROM join_qr_images WHERE qr_id = ?").get(qrId) as { b64: string } | undefined;
    return row?.b64;
  }
  const row = stmt(db, 'SELECT bytes FROM join_qr_images WHERE qr_id = ?').get(qrId) as { bytes: Buffer } | undefined;
  return row ? Buffer.from(row.bytes).toString('base64') : undefined;
}

/** Valid QR codes of these groups that expire before `before` and were not reminded of yet (newest per group only). */
export function qrsToRemind(db: Db, before: number, now: number): QrRow[] {
  return stmt(
    db,
    `SELECT q.* FROM join_qr q
     WHERE q.reminded_at IS NULL AND q.expires_at > ? AND q.expires_at <= ?
       AND NOT EXISTS (SELECT 1 FROM join_qr n WHERE n.group_id = q.group_id AND n.expires_at > q.expires_at)
     ORDER BY q.expires_at, q.id`,
  ).all(now, before) as QrRow[];
}

export function markQrReminded(db: Db, id: number, now: number): void {
  stmt(db, 'UPDATE join_qr SET reminded_at = ? WHERE id = ?').run(now, id);
}

export function joinLink(db: Db, platform: string, groupId: string, channel: string): string | undefined {
  return (stmt(db, 'SELECT url FROM join_links WHERE platform = ? AND group_id = ? AND channel = ?').get(platform, groupId, channel) as { url: string } | undefined)?.url;
}

export function saveJoinLink(db: Db, l: { platform: string; groupId: string; channel: string; url: string; now: number }): void {
  stmt(db, 'INSERT INTO join_links (platform, group_id, channel, url, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, group_id, channel) DO UPDATE SET url = excluded.url, created_at = excluded.created_at').run(
    l.platform,
    l.groupId,
    l.channel,
    l.url,
    l.now,
  );
}

export function linkByUrl(db: Db, platform: string, url: string): { group_id: string; channel: string } | undefined {
  return stmt(db, 'SELECT group_id, channel FROM join_links WHERE platform = ? AND url = ?').get(platform, url) as { group_id: string; channel: string } | undefined;
}

/** Whether this client was already counted for this pool and channel since `since`. */
export function recentView(db: Db, v: { client: string; pool: string; channel: string; since: number }): boolean {
  return stmt(db, 'SELECT 1 FROM join_views WHERE client = ? AND pool = ? AND channel = ? AND at >= ? LIMIT 1').get(v.client, v.pool, v.channel, v.since) !== undefined;
}

export function insertView(db: Db, v: { pool: string; groupId: string; channel: string; client: string; now: number }): void {
  stmt(db, 'INSERT INTO join_views (pool, group_id, channel, client, at) VALUES (?, ?, ?, ?, ?)').run(v.pool, v.groupId, v.channel, v.client, v.now);
}

/**
 * The page view a WeChat join into `groupId` at `now` is matched to: the earliest view of that
 * group within the window before the join that no one was matched to yet (first come, first
 * matched), with a channel; undefined if none.
 */
export function viewToMatch(db: Db, groupId: string, since: number, now: number): { id: number; channel: string } | undefined {
  return stmt(
    db,
    `SELECT id, channel FROM join_views WHERE group_id = ? AND at >= ? AND at <= ? AND matched_member IS NULL AND channel != ''
     ORDER BY at, id LIMIT 1`,
  ).get(groupId, since, now) as { id: number; channel: string } | undefined;
}

export function markViewMatched(db: Db, viewId: number, memberId: string): void {
  stmt(db, 'UPDATE join_views SET matched_member = ? WHERE id = ?').run(memberId, viewId);
}

export function attributionOf(db: Db, memberId: string): { channel: string; how: string; group_id: string } | undefined {
  return stmt(db, 'SELECT channel, how, group_id FROM join_attributions WHERE member_id = ?').get(memberId) as { channel: string; how: string; group_id: string } | undefined;
}

/** Credits a member's join to a channel; the first credit stands (returns false when they had one). */
export function attribute(db: Db, a: { memberId: string; channel: string; groupId: string; how: 'invite_link' | 'page_view'; viewId: number | null; now: number }): boolean {
  return (
    stmt(db, 'INSERT INTO join_attributions (member_id, channel, group_id, how, view_id, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (member_id) DO NOTHING').run(
      a.memberId,
      a.channel,
      a.groupId,
      a.how,
      a.viewId,
      a.now,
    ).changes > 0
  );
}

export function poolState(db: Db, pool: string): string | undefined {
  return (stmt(db, 'SELECT state FROM join_pool_state WHERE pool = ?').get(pool) as { state: string } | undefined)?.state;
}

export function setPoolState(db: Db, pool: string, state: string, now: number): void {
  stmt(db, 'INSERT INTO join_pool_state (pool, state, changed_at) VALUES (?, ?, ?) ON CONFLICT (pool) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at').run(pool, state, now);
}

/** For `kequn member export`: the member's channel credit. */
export function joinExport(db: Db, memberId: string): Record<string, unknown> {
  return { join_attributions: stmt(db, 'SELECT channel, group_id, how, at FROM join_attributions WHERE member_id = ?').all(memberId) };
}

export function joinForget(db: Db, memberId: string): void {
  stmt(db, 'DELETE FROM join_attributions WHERE member_id = ?').run(memberId);
  stmt(db, 'UPDATE join_views SET matched_member = NULL WHERE matched_member = ?').run(memberId);
  stmt(db, 'UPDATE join_qr SET created_by = NULL WHERE created_by = ?').run(memberId);
}

/** The latest Telegram link request for a group and channel (`userId` join:<group>:<channel>): its state and when. */
export function lastLinkRequest(db: Db, userId: string): { status: string; created_at: number } | undefined {
  return stmt(db, "SELECT status, created_at FROM platform_actions WHERE platform = 'telegram' AND action = 'create_invite_link' AND user_id = ? ORDER BY id DESC LIMIT 1").get(userId) as
    | { status: string; created_at: number }
    | undefined;
}

/** Pools (and single groups) whose page was ever opened, and groups that ever had a QR code. */
export function joinHandlesInUse(db: Db): { pools: string[]; qrGroups: string[] } {
  const pools = (stmt(db, 'SELECT pool FROM join_pool_state ORDER BY pool').all() as { pool: string }[]).map((r) => r.pool);
  const qrGroups = (stmt(db, 'SELECT DISTINCT group_id FROM join_qr ORDER BY group_id').all() as { group_id: string }[]).map((r) => r.group_id);
  return { pools, qrGroups };
}
