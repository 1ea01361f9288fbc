import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export type AnnouncementStatus = 'preview' | 'scheduled' | 'sending' | 'done' | 'cancelled' | 'expired';

export interface AnnouncementTargets {
  /** Group handles. */
  groups: string[];
  /** Stage ids whose members get the text privately. */
  stages: string[];
  /** Segments (kequn.yaml profile.segments) whose members get the text privately; absent in rows from before segments. */
  segments?: string[];
}

export interface Announcement {
  id: number;
  kind: 'announce' | 'remind';
  platform: string;
  author_id: string;
  author_platform_id: string;
  text: string;
  targets: string;
  status: AnnouncementStatus;
  due_at: number | null;
  expires_at: number | null;
  total: number;
  reported: number;
  created_at: number;
  confirmed_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  note: string | null;
}

/** The code instructors see and type: `A7`. */
export function announcementCode(id: number): string {
  return `A${id}`;
}

export function parseAnnouncementCode(code: string): number | undefined {
  const m = /^A(\d{1,12})$/i.exec(code.trim());
  return m ? Number(m[1]) : undefined;
}

export function createAnnouncement(
  db: Db,
  a: { kind: 'announce' | 'remind'; platform: string; authorId: string; authorPlatformId: string; text: string; targets: AnnouncementTargets; status: 'preview' | 'scheduled'; dueAt: number | null; expiresAt: number | null; now: number },
): number {
  const r = stmt(
    db,
    `INSERT INTO announcements (kind, platform, author_id, author_platform_id, text, targets, status, due_at, expires_at, created_at, confirmed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  ).get(a.kind, a.platform, a.authorId, a.authorPlatformId, a.text, JSON.stringify(a.targets), a.status, a.dueAt, a.expiresAt, a.now, a.status === 'scheduled' ? a.now : null) as { id: number };
  return r.id;
}

export function getAnnouncement(db: Db, id: number): Announcement | undefined {
  return stmt(db, 'SELECT * FROM announcements WHERE id = ?').get(id) as Announcement | undefined;
}

export function targetsOf(a: Announcement): AnnouncementTargets {
  return JSON.parse(a.targets) as AnnouncementTargets;
}

/** The newest preview of this author on this platform (whether or not it has expired). */
export function latestPreview(db: Db, args: { authorId: string; authorPlatformId: string; platform: string }): Announcement | undefined {
  return stmt(db, "SELECT * FROM announcements WHERE status = 'preview' AND author_id = ? AND author_platform_id = ? AND platform = ? ORDER BY id DESC LIMIT 1").get(
    args.authorId,
    args.authorPlatformId,
    args.platform,
  ) as Announcement | undefined;
}

/** Previews, scheduled and sending announcements of a platform, oldest first. */
export function openAnnouncements(db: Db, platform: string): Announcement[] {
  return stmt(db, "SELECT * FROM announcements WHERE platform = ? AND status IN ('preview', 'scheduled', 'sending') ORDER BY COALESCE(due_at, created_at), id").all(platform) as Announcement[];
}

/** Moves an announcement from one status to another; false if it was not in `from` (any more). */
export function moveAnnouncement(
  db: Db,
  args: { id: number; from: AnnouncementStatus[]; to: AnnouncementStatus; now: number; note?: string; total?: number },
): boolean {
  const col = args.to === 'scheduled' ? 'confirmed_at' : args.to === 'sending' ? 'started_at' : 'finished_at';
  const placeholders = args.from.map(() => '?').join(', ');
  return (
    stmt(db, `UPDATE announcements SET status = ?, ${col} = ?, note = COALESCE(?, note), total = COALESCE(?, total) WHERE id = ? AND status IN (${placeholders})`).run(
      args.to,
      args.now,
      args.note ?? null,
      args.total ?? null,
      args.id,
      ...args.from,
    ).changes > 0
  );
}

export function setReported(db: Db, id: number, finished: number): void {
  stmt(db, 'UPDATE announcements SET reported = ? WHERE id = ?').run(finished, id);
}

/** Delivery of the outbox rows queued under one rule id (`announce:A7`), by status. */
export function deliveryCounts(db: Db, ruleId: string): { pending: number; sent: number; failed: number; dryRun: number } {
  const rows = stmt(db, 'SELECT status, COUNT(*) AS n FROM outbox WHERE rule_id = ? GROUP BY status').all(ruleId) as { status: string; n: number }[];
  const by = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  return {
    pending: (by.pending ?? 0) + (by.sending ?? 0),
    sent: by.sent ?? 0,
    // dropped: the daily cap had no room for it within the days a message may be held.
    failed: (by.failed ?? 0) + (by.uncertain ?? 0) + (by.dropped ?? 0),
    dryRun: by.dry_run ?? 0,
  };
}

/** Stops an announcement mid-way: its messages not yet sent are dropped. */
export function dropPendingOf(db: Db, ruleId: string, reason: string): number {
  return stmt(db, "UPDATE outbox SET status = 'failed', last_error = ? WHERE rule_id = ? AND status = 'pending'").run(reason, ruleId).changes;
}

/** Members now in one of `stages` with an identity on `platform`: who a stage announcement reaches. */
export function membersInStages(db: Db, stages: string[], platform: string): { member_id: string; platform_id: string; display_name: string; stage: string }[] {
  if (stages.length === 0) return [];
  const placeholders = stages.map(() => '?').join(', ');
  return db
    .prepare(
      `SELECT m.id AS member_id, i.platform_id, m.display_name, m.stage FROM members m JOIN identities i ON i.member_id = m.id
       WHERE i.platform = ? AND m.stage IN (${placeholders}) ORDER BY m.created_at, m.id`,
    )
    .all(platform, ...stages) as { member_id: string; platform_id: string; display_name: string; stage: string }[];
}

/** A new preview replaces the author's older unconfirmed ones: only the latest can be confirmed. */
export function supersedePreviews(db: Db, args: { authorId: string; platform: string; now: number }): number {
  return stmt(db, "UPDATE announcements SET status = 'cancelled', finished_at = ?, note = 'replaced by a newer preview' WHERE status = 'preview' AND author_id = ? AND platform = ?").run(
    args.now,
    args.authorId,
    args.platform,
  ).changes;
}
