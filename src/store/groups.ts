import { dialectOf, inTransaction, type Db } from './db.js';
import { stmt } from './statements.js';

export interface GroupRow {
  id: string;
  name: string;
  kind: string;
  updated_at: number;
}

/**
 * Mirrors the configured course groups into the store (at start and on every reload). Groups
 * removed from config stay, so history keeps its names; their platform ids are dropped.
 */
export function syncGroups(
  db: Db,
  groups: { id: string; name: string; kind: string; platformIds: { platform: string; id: string }[] }[],
  now: number,
): void {
  inTransaction(db, () => {
    // Processes starting together on PostgreSQL would each delete and re-insert: one at a time.
    if (dialectOf(db) === 'postgres') stmt(db, 'SELECT pg_advisory_xact_lock(?)').get(GROUPS_LOCK);
    stmt(db, 'DELETE FROM group_platform_ids').run();
    for (const g of groups) {
      stmt(db, 'INSERT INTO groups (id, name, kind, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, updated_at = excluded.updated_at').run(
        g.id,
        g.name,
        g.kind,
        now,
      );
      for (const p of g.platformIds) stmt(db, 'INSERT INTO group_platform_ids (platform, platform_id, group_id) VALUES (?, ?, ?)').run(p.platform, p.id, g.id);
    }
  });
}

/** Advisory-lock key for syncing the groups ("kqgrp" in ASCII). */
const GROUPS_LOCK = 0x6b71677270;

export function listGroups(db: Db): GroupRow[] {
  return stmt(db, 'SELECT * FROM groups ORDER BY id').all() as GroupRow[];
}
