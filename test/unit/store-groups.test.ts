import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';
import { listGroups, syncGroups } from '../../src/store/groups.js';
import { stmt } from '../../src/store/statements.js';
import { openTestStore } from '../helpers/store.js';

describe('groups in the store', () => {
  it('mirrors the configured groups and follows renames and removed platform ids', () => {
    const db = openTestStore();
    syncGroups(db, [{ id: 'py', name: 'Python', kind: 'trial', platformIds: [{ platform: 'wechat', id: 'a@chatroom' }] }], 1);
    syncGroups(db, [{ id: 'py', name: 'Python 入门', kind: 'trial', platformIds: [] }, { id: 'vip', name: 'VIP', kind: 'paid', platformIds: [] }], 2);
    expect(listGroups(db).map((g) => [g.id, g.name])).toEqual([
      ['py', 'Python 入门'],
      ['vip', 'VIP'],
    ]);
    expect((stmt(db, 'SELECT COUNT(*) AS n FROM group_platform_ids').get() as { n: number }).n).toBe(0);
  });

  it('applies every migration once, in order: reopening a store changes nothing', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kequn-mig-')), 'store.db');
    const versionsOf = (db: ReturnType<typeof openStore>) =>
      (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
    const first = openStore(file);
    expect(versionsOf(first)).toEqual(migrations.map((m) => m.version));
    first.close();
    const again = openStore(file);
    expect(versionsOf(again)).toEqual(migrations.map((m) => m.version));
    again.close();
  });
});
