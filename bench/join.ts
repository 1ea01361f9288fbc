/**
 * The join page (群活码): `GET /join/<pool>?c=<channel>` over real HTTP on 127.0.0.1 against a
 * pool of three WeChat groups (the first full at 200, the second at 150 members, 20,000 member
 * rows, 10,000 earlier page views), each with an uploaded QR code, so every answer counts the
 * members of two groups, passes the full one, reads the QR and renders the page. Baseline: the
 * same server's /healthz in the same run. Target: p99 < 20 ms.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { createApp, loadConfig, waitReady } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { OffsetClock } from '../src/core/schedule/clock.js';
import { createWebApp, startWebServer } from '../src/web/server.js';
import { insertQr, insertQrImage } from '../src/flows/join/store.js';
import type { BenchResult } from './report.js';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function timeGets(url: string, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    ms.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  }
  return ms;
}

export async function benchJoin(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-join-'));
  const course = join(dir, 'course');
  cpSync('test/fixtures/course', course, { recursive: true });
  const groups = ['t1', 't2', 't3'];
  let main = readFileSync(join(course, 'kequn.yaml'), 'utf8');
  main = main.replace(/^groups:\n/m, `groups:\n${groups.map((g, i) => `  ${g}:\n    name: 体验群 ${i + 1}\n    kind: trial\n    wechat: ${g}@chatroom\n`).join('')}`);
  main += `\njoin:\n  pools:\n    trial: { groups: [${groups.join(', ')}] }\n  channels: { xhs: 小红书, gzh: 公众号 }\n  views_per_minute: 10000\n  room_qr: false\n`;
  writeFileSync(join(course, 'kequn.yaml'), main);
  const dbPath = join(dir, 'kequn.db');
  const config = loadConfig(course, { env: { KEQUN_DATA: dbPath } });
  const clock = new OffsetClock();
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const now = clock.now();
  const db = app.db;
  db.transaction(() => {
    const m = db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, ?, 'prospect', ?, ?, ?)");
    const g = db.prepare('INSERT INTO memberships (member_id, group_id, joined_at, left_at, inviter_id, join_count) VALUES (?, ?, ?, ?, NULL, 1)');
    for (let i = 0; i < 20_000; i++) {
      m.run(`m${i}`, `m${i}`, now - i, now - i, now - i);
      // t1: 200 current; t2: 150 current; the rest left long ago or are in other groups.
      const group = i < 200 ? 't1' : i < 350 ? 't2' : i % 2 ? 't1' : 't2';
      g.run(`m${i}`, group, now - i, i < 350 ? null : now - 1000);
    }
    const v = db.prepare("INSERT INTO join_views (pool, group_id, channel, client, at) VALUES ('trial', 't2', ?, ?, ?)");
    for (let i = 0; i < 10_000; i++) v.run(i % 2 ? 'xhs' : 'gzh', `c${i % 500}`, now - i * 1000);
  })();
  const png = await QRCode.toBuffer('https://weixin.qq.com/g/bench', { width: 360 });
  for (const g of groups) insertQrImage(db, insertQr(db, { groupId: g, kind: 'upload', mime: 'image/png', now, expiresAt: now + 6 * 86_400_000, createdBy: null }), png);
  const web = createWebApp({ app, clock, log: silentLogger, env: {} });
  const server = await startWebServer(web, { host: '127.0.0.1', port: 0 });
  try {
    const page = `${server.url}/join/trial?c=xhs`;
    const first = await (await fetch(page)).text();
    if (!first.includes('体验群 2')) throw new Error('the bench page did not hand out the second group');
    await timeGets(page, 200);
    await timeGets(`${server.url}/healthz`, 200);
    const joinMs = await timeGets(page, 2000);
    const healthMs = await timeGets(`${server.url}/healthz`, 2000);
    // The same request handled in process (Hono's app.request, no socket): kequn's own share.
    const inProc: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      const r = await web.request('/join/trial?c=xhs', { headers: { host: '127.0.0.1' } });
      await r.arrayBuffer();
      inProc.push(performance.now() - t);
    }
    const p99 = pct(joinMs, 99);
    const base = pct(healthMs, 99);
    return [
      {
        name: 'join page: GET /join/<pool>?c=, p99',
        value: p99,
        unit: 'ms',
        baseline: '/healthz p99',
        baseline_value: base,
        ratio: base / p99,
        target: '< 20 ms',
        met: p99 < 20,
        note: `p50 ${pct(joinMs, 50).toFixed(2)} ms; 3 groups (200, 150, 0 members), 20,000 member rows, 10,000 earlier views; real HTTP on 127.0.0.1`,
      },
      {
        name: 'join page: handled in process (no socket), p99',
        value: pct(inProc, 99),
        unit: 'ms',
        target: '< 20 ms',
        met: pct(inProc, 99) < 20,
        note: `p50 ${pct(inProc, 50).toFixed(2)} ms; Hono app.request: the page's own work without the loopback socket`,
      },
    ];
  } finally {
    await server.close();
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// `npx tsx bench/join.ts` runs this one alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { report } = await import('./report.js');
  report(await benchJoin());
  process.exit(0);
}
