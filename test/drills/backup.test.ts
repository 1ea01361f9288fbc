/**
 * Drill: a backup taken while events flow, restored, and the bot carries on. The backup runs in a
 * separate `kequn backup` process (a real second connection) while this process keeps writing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/bot/events.js';
import { createApp, waitReady } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { acquireStoreLock, backupStore, restoreStore } from '../../src/store/backup.js';

function kequn(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, ...env } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

const GROUP = { id: 'python-101@chatroom', name: 'Python 入门体验群' };

function count(path: string, sql: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function boot(dbPath: string) {
  const config = loadConfig('test/fixtures/course', { env: { KEQUN_DATA: dbPath } });
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  return { app, clock };
}

describe('drill: backup under load, restore, carry on', () => {
  it('backs up while events flow, refuses to restore under a running bot, restores, and the bot answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-backup-'));
    const dbPath = join(dir, 'kequn.db');
    const env = { KEQUN_DATA: dbPath };
    const { app, clock } = await boot(dbPath);
    const release = acquireStoreLock(dbPath);

    // Load: joins and messages until the backup process has finished.
    let n = 0;
    let flowing = true;
    const load = (async () => {
      while (flowing) {
        const user = { id: `load-${n}`, name: `Load ${n}` };
        const ev: ChatEvent =
          n % 2 === 0
            ? { type: 'member.joined', platform: 'wechat', eventId: `join-${n}`, at: clock.now(), group: GROUP, user }
            : { type: 'message', platform: 'wechat', eventId: `msg-${n}`, at: clock.now(), chat: { kind: 'group', group: GROUP }, user: { id: `load-${n - 1}`, name: `Load ${n - 1}` }, text: `hello ${n}`, mentionsBot: false, contentKind: 'text' };
        await app.kernel.handle(ev);
        n++;
        // Steady rather than flat out: the drill is about consistency under writes, not throughput.
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    while (n < 20) await new Promise((r) => setTimeout(r, 5));
    const before = n;
    const backupFile = join(dir, 'snap.db');
    const b = await kequn(['backup', backupFile], env);
    const after = n;
    expect(b.code, b.stdout).toBe(0);
    expect(b.stdout).toMatch(/backed up .* to .*snap\.db: \d+ bytes, \d+ members, \d+ events/);
    // The bot kept handling events while the backup ran.
    expect(after).toBeGreaterThan(before);

    // Restoring under the running bot is refused and changes nothing.
    const refused = await kequn(['restore', backupFile], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/kequn \(pid \d+\) is running on .*kequn\.db; stop it first/);
    expect(existsSync(`${dbPath}.bak`)).toBe(false);

    flowing = false;
    await load;
    await app.kernel.runUntil(clock.now() + 60_000);
    await app.stop();
    release();
    const total = count(dbPath, 'SELECT count(*) AS n FROM events');
    expect(total).toBe(n);
    const snapEvents = count(backupFile, 'SELECT count(*) AS n FROM events');
    // A consistent snapshot from the middle of the load: everything before, nothing after.
    expect(snapEvents).toBeGreaterThanOrEqual(before);
    expect(snapEvents).toBeLessThanOrEqual(after);
    expect(snapEvents).toBeLessThan(total);

    // A file that is not a kequn store is refused, and the store is untouched.
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'not a database at all '.repeat(100));
    await expect(restoreStore(dbPath, junk)).rejects.toThrow(/refusing to restore .*junk\.db:\n {2}.*not a SQLite database/);
    expect(count(dbPath, 'SELECT count(*) AS n FROM events')).toBe(total);

    const ok = await kequn(['restore', backupFile], env);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain(`the store it replaced is kept as ${dbPath}.bak`);
    expect(count(dbPath, 'SELECT count(*) AS n FROM events')).toBe(snapEvents);
    expect(count(`${dbPath}.bak`, 'SELECT count(*) AS n FROM events')).toBe(total);
    const integrity = new Database(dbPath, { readonly: true });
    expect(integrity.pragma('integrity_check', { simple: true })).toBe('ok');
    integrity.close();

    // The bot carries on from the restored store: a newcomer is welcomed, the old events are known.
    const again = await boot(dbPath);
    const sent: string[] = [];
    again.app.sim!.onSent((s) => sent.push(s.text));
    const replay = await again.app.kernel.handle({ type: 'member.joined', platform: 'wechat', eventId: 'join-0', at: again.clock.now(), group: GROUP, user: { id: 'load-0', name: 'Load 0' } });
    expect(replay.status).toBe('duplicate');
    const fresh = await again.app.kernel.handle({ type: 'member.joined', platform: 'wechat', eventId: 'join-after-restore', at: again.clock.now(), group: GROUP, user: { id: 'newcomer', name: 'Newcomer' } });
    expect(fresh.messages).toBeGreaterThan(0);
    // The restored outbox still holds the welcomes queued before the snapshot: they go out first, paced.
    await again.app.kernel.runUntil(again.clock.now() + 6 * 3600_000);
    expect(sent.some((t) => t.includes('Newcomer')), JSON.stringify(sent.slice(0, 5)) + sent.length).toBe(true);
    await again.app.stop();
  });

  it('refuses a backup made by a newer kequn (unknown schema version)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-backup-'));
    const dbPath = join(dir, 'kequn.db');
    const { app } = await boot(dbPath);
    await app.stop();
    const newer = join(dir, 'newer.db');
    await backupStore(dbPath, newer);
    const db = new Database(newer);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
    db.close();
    await expect(restoreStore(dbPath, newer)).rejects.toThrow(/schema migrations 999 this kequn does not know/);
    expect(existsSync(`${dbPath}.bak`)).toBe(false);
  });
});
