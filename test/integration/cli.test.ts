import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { createApp, waitReady } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';

async function kequn(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, ...env } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

function brokenConfig(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-cfg-'));
  cpSync('test/fixtures/course', dir, { recursive: true });
  edit(dir);
  return dir;
}

/** The demo course on a fresh store file, started on a virtual clock (for the commands that read the store). */
async function startDemoApp(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbPath = join(dir, 'kequn.db');
  const config = loadConfig('test/fixtures/course', { env: { KEQUN_DATA: dbPath } });
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  return { dbPath, clock, app };
}

describe('kequn CLI', () => {
  it('check: the course configuration is valid (the tests\' own course, by KEQUN_CONFIG)', async () => {
    const r = await kequn(['check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/configuration test\/fixtures\/course is valid: 2 groups/);
  });

  it('check: every problem is printed with file:line and key path, exit 2', async () => {
    const dir = brokenConfig((d) => {
      const rules = readFileSync(join(d, 'rules.yaml'), 'utf8').replace('reply: welcome_group', 'reply: welcom_group');
      writeFileSync(join(d, 'rules.yaml'), rules);
      writeFileSync(join(d, 'templates.yaml'), readFileSync(join(d, 'templates.yaml'), 'utf8') + 'extra: "hi {nickname}"\n');
    });
    const r = await kequn(['check', '--config', dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/rules\.yaml:\d+ rules\[0\]\.do\[0\]\.reply: unknown template "welcom_group"/);
    expect(r.stdout).toMatch(/templates\.yaml:\d+ extra: unknown template variable \{nickname\}/);
  });

  it('why: shows which rules fired and which conditions failed for a member', async () => {
    const { dbPath, app } = await startDemoApp('kequn-why-');
    app.sim!.user('frank', 'Frank');
    const joined = new Promise((r) => app.kernel.once('handled', r));
    app.sim!.join('frank', 'python-101@chatroom');
    await joined;
    await app.stop();

    const r = await kequn(['why', 'Frank'], { KEQUN_DATA: dbPath });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Frank');
    expect(r.stdout).toMatch(/stage trial/);
    expect(r.stdout).toMatch(/✓ fired\s+welcome-newcomer/);
    // rejoin-quietly did not fire, and why says which condition failed with its value.
    expect(r.stdout).toMatch(/✗ skipped rejoin-quietly/);
    expect(r.stdout).toMatch(/FAIL stage eq "churned" — was "prospect"/);

    const missing = await kequn(['why', 'nobody'], { KEQUN_DATA: dbPath });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('no member matches "nobody"');
  });

  it('orders: counts by state and lists orders', async () => {
    const { dbPath, clock, app } = await startDemoApp('kequn-orders-');
    for (const user of ['gail', 'hank']) {
      await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: `orders-cli-${user}`, at: clock.now(), chat: { kind: 'dm' }, user: { id: user, name: user }, text: '/buy', mentionsBot: false, contentKind: 'text' });
    }
    const gail = app.db.prepare("SELECT token FROM orders o JOIN identities i ON i.member_id = o.member_id WHERE i.platform_id = 'gail'").get() as { token: string };
    const { outTradeNo } = await app.orders.service.startPayment(gail.token, { method: 'native', clientIp: '127.0.0.1' });
    await app.orders.sandbox!.pay(outTradeNo);
    await app.stop();

    const all = await kequn(['orders'], { KEQUN_DATA: dbPath });
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('created 1 · paid 1 ·');
    expect(all.stdout).toMatch(/o_\S+ +2026-03-02 10:00 +paid +python-vip +¥199\.00 +gail paid ¥199\.00 via sandbox/);
    const paid = await kequn(['orders', '--state', 'created'], { KEQUN_DATA: dbPath });
    expect(paid.stdout).toContain('hank');
    expect(paid.stdout).not.toContain('gail');
  });

  it('instances: the processes that used the store, gone or running, with their chats and waiting messages', async () => {
    const { dbPath, clock, app } = await startDemoApp('kequn-instances-');
    await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: 'instances-cli-ivy', at: clock.now(), chat: { kind: 'dm' }, user: { id: 'ivy', name: 'ivy' }, text: '/buy', mentionsBot: false, contentKind: 'text' });
    await app.stop();
    // The app ran on a virtual clock in March 2026: long gone by now.
    const r = await kequn(['instances'], { KEQUN_DATA: dbPath });
    expect(r.code).toBe(0);
    // Its chats: ivy's private chat, and the demo's rooms if the room list came in before the stop.
    expect(r.stdout).toMatch(/main +gone \(last seen \d+d(\d+[hms])? ago\) +[13] chats +[1-9]\d* waiting +0 sent today +\S+ pid \d+/);
    const bad = await kequn(['instances'], { KEQUN_DATA: dbPath, KEQUN_TAKEOVER_AFTER: 'soon' });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('KEQUN_TAKEOVER_AFTER must be a number of seconds');
    // Retiring: refused while it counts as running (a takeover time of ten years), then done.
    const running = await kequn(['instances', 'retire', 'main'], { KEQUN_DATA: dbPath, KEQUN_TAKEOVER_AFTER: String(10 * 365 * 86_400) });
    expect(running.code).toBe(2);
    expect(running.stdout).toMatch(/instance main is running .*stop it first/);
    expect((await kequn(['instances', 'retire', 'nobody'], { KEQUN_DATA: dbPath })).stdout).toContain('no instance named "nobody"');
    const retired = await kequn(['instances', 'retire', 'main'], { KEQUN_DATA: dbPath });
    expect(retired.code).toBe(0);
    expect(retired.stdout).toMatch(/retired main: 0 chats moved to an instance that can reach them, [13] left to whoever/);
    expect((await kequn(['instances'], { KEQUN_DATA: dbPath })).stdout).toContain('none has run yet');
  });

  it('referrals list and export run in a fresh process (their imports once made a cycle that crashed at load)', async () => {
    const { dbPath, app } = await startDemoApp('kequn-referrals-');
    await app.stop();
    const list = await kequn(['referrals', 'list'], { KEQUN_DATA: dbPath });
    expect(list.code).toBe(0);
    const csv = await kequn(['referrals', 'export', '--csv'], { KEQUN_DATA: dbPath });
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^entry_id,referrer_id,referrer_name/);
  });

  it('rejects unknown commands and options with usage, exit 2', async () => {
    expect((await kequn(['frobnicate'])).code).toBe(2);
    expect((await kequn(['check', '--bogus'])).code).toBe(2);
  });
});
