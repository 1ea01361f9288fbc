import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Db } from '../../src/store/db.js';
import { resolveMember } from '../../src/store/members.js';
import { migrations } from '../../src/store/migrations.js';
import { listGroups, syncGroups } from '../../src/store/groups.js';
import { stmt } from '../../src/store/statements.js';
import { runTogether } from '../helpers/pg-processes.js';
import { freshPgUrl, openTestStore, pgAdminUrl } from '../helpers/store.js';

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
    const versionsOf = (db: Db) => (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
    /** Every table's schema and rows (a migration run twice would add or change some). */
    const contents = (db: Db) =>
      (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string; sql: string }[]).map((t) => ({
        ...t,
        rows: db.prepare(`SELECT * FROM "${t.name}" ORDER BY rowid`).all(),
      }));
    const first = openStore(file);
    expect(versionsOf(first)).toEqual(migrations.map((m) => m.version));
    // Data of the kinds migrations create tables for, so there is something to lose or double.
    syncGroups(first, [{ id: 'py', name: 'Python', kind: 'trial', platformIds: [{ platform: 'wechat', id: 'a@chatroom' }] }], 1);
    resolveMember(first, { platform: 'wechat', platformId: 'alice', displayName: 'Alice', initialStage: 'prospect', now: 1 });
    resolveMember(first, { platform: 'telegram', platformId: '42', displayName: 'Bob', initialStage: 'trial', now: 2 });
    const before = contents(first);
    const rowsOf = (name: string) => before.find((t) => t.name === name)!.rows;
    expect([rowsOf('groups').length, rowsOf('group_platform_ids').length, rowsOf('members').length, rowsOf('identities').length, rowsOf('schema_migrations').length]).toEqual([
      1,
      1,
      2,
      2,
      migrations.length,
    ]);
    first.close();
    const again = openStore(file);
    expect(versionsOf(again)).toEqual(migrations.map((m) => m.version));
    expect(contents(again)).toEqual(before);
    again.close();
  });
});

describe.skipIf(!pgAdminUrl)('groups on one PostgreSQL shared by several processes (KEQUN_TEST_PG_URL)', () => {
  it('two processes syncing the groups at the same moment both succeed and leave each platform id once', async () => {
    const url = freshPgUrl();
    // As kequn processes started together (docker-compose) do at start: 20 groups, 30 times each.
    const results = await runTogether(
      url,
      `const { syncGroups } = await src('store/groups.ts');
       const groups = Array.from({ length: 20 }, (_, i) => ({ id: 'g' + i, name: 'G' + i, kind: 'trial', platformIds: [{ platform: 'wechat', id: 'g' + i + '@chatroom' }] }));
       for (let i = 0; i < 30; i++) syncGroups(db, groups, i);`,
    );
    expect(results).toEqual([
      { code: 0, err: '' },
      { code: 0, err: '' },
    ]);
    const db = openStore(url);
    expect((stmt(db, 'SELECT COUNT(*) AS n FROM group_platform_ids').get() as { n: number }).n).toBe(20);
    db.close();
  }, 20_000);
});
