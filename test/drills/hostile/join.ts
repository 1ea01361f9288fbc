/**
 * Attacks on the join page (群活码, docs/join.md): junk pool handles and channels (long,
 * Unicode, SQL, prototype names, repeated), one client flooding the page, and the staff QR
 * upload without the login, from another site, under another host name, with files that are no
 * image, too big or of a date WeChat never prints, and group names that climb out of the folder.
 * Each must answer with a clear page and change nothing: no view, no QR row, no file.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { createApp, loadConfig, waitReady } from '../../../src/app.js';
import { silentLogger } from '../../../src/log.js';
import { VirtualClock } from '../../../src/core/schedule/clock.js';
import { createWebApp, startWebServer } from '../../../src/web/server.js';
import { qrDirOf } from '../../../src/flows/join/files.js';
import { qrImageBase64 } from '../../../src/flows/join/store.js';
import { joinCourse } from '../../helpers/join.js';
import type { AttackReport, AttackSuite } from './suite.js';

const T0 = Date.parse('2026-03-02T10:00:00+08:00');
const TOKEN = 'hostile-join-admin-token-0123456789';

export const joinSuite: AttackSuite = {
  name: 'join',
  title: 'the public join page and the staff QR upload: junk handles and channels, a flood from one client, uploads that must store nothing',
  async run(): Promise<AttackReport> {
    const r: AttackReport = { tried: 0, lines: [], problems: [] };
    const dir = mkdtempSync(join(tmpdir(), 'kequn-hostile-join-'));
    const dbPath = join(dir, 'kequn.db');
    const clock = new VirtualClock(T0);
    const config = loadConfig(joinCourse('  views_per_minute: 100\n'), { env: { KEQUN_DATA: dbPath } });
    const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    const server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: TOKEN } }), { host: '127.0.0.1', port: 0 });
    const count = (table: string) => (app.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const files = () => (existsSync(qrDirOf(app.config)) ? readdirSync(qrDirOf(app.config)).length : 0);
    try {
      // 1. Junk in the path and the channel: a 404 page in Chinese, nothing recorded.
      const handles = ['nope', 'python-vip', 'PYTHON-TRIAL', '__proto__', 'constructor', 'toString', 'a'.repeat(5000), "x'%20OR%201=1--", '%00', '..%2f..%2fetc', '%E8%AF%BE%E7%BE%A4', '-'];
      const channels = ['tiktok', '__proto__', 'constructor', 'x'.repeat(5000), "'; DROP TABLE join_views;--", '%E5%B0%8F%E7%BA%A2%E4%B9%A6', 'xhs&c=gzh&c=tiktok'];
      let bad = 0;
      for (const h of handles) {
        const res = await fetch(`${server.url}/join/${h}`);
        const html = await res.text();
        bad++;
        if (res.status >= 500 || (res.status === 200 && !html.includes('没有找到')) || (res.status === 404 && !html.includes('没有找到'))) r.problems.push(`/join/${h.slice(0, 40)}: answered ${res.status}`);
      }
      for (const c of channels) {
        const res = await fetch(`${server.url}/join/python-trial?c=${c}`);
        await res.text();
        bad++;
        // xhs&c=gzh&c=tiktok: Hono reads the first c (xhs), a real channel; anything else is unknown.
        if (res.status === 500 || (!c.startsWith('xhs&') && res.status !== 404)) r.problems.push(`?c=${c.slice(0, 40)}: answered ${res.status}`);
      }
      r.tried += bad;
      if (count('join_views') !== 0) r.problems.push(`junk links recorded ${count('join_views')} page views`);
      r.lines.push(`${bad} junk handles and channels: clear 404 pages, ${count('join_views')} views recorded`);

      // 2. One client, 600 views in a minute: refused past the limit (100), one view recorded at most.
      let refused = 0;
      for (let i = 0; i < 600; i++) {
        const res = await fetch(`${server.url}/join/python-trial?c=gzh`);
        await res.text();
        if (res.status === 429) refused++;
      }
      r.tried += 600;
      const views = app.db.prepare("SELECT COUNT(*) AS n FROM join_views WHERE channel = 'gzh'").get() as { n: number };
      if (refused < 600 - 100) r.problems.push(`a flood of 600 views from one client: only ${refused} refused`);
      if (views.n > 1) r.problems.push(`a flood from one client recorded ${views.n} views for the channel (one person, one view per window)`);
      r.lines.push(`600 views from one client: ${refused} refused (429), ${views.n} view recorded`);

      // 3. The upload, every way it must not work.
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(200).fill(1)]);
      const post = async (group: string, body: Uint8Array | string, expires: string, headers: Record<string, string>) => {
        const form = new FormData();
        form.set('image', new Blob([typeof body === 'string' ? body : Uint8Array.from(body)], { type: 'image/png' }), '../../../../etc/passwd.png');
        form.set('expires', expires);
        try {
          const res = await fetch(`${server.url}/join-admin/qr/${group}`, { method: 'POST', body: form, headers });
          await res.text();
          return res.status;
        } catch {
          // The server answered 413 and closed while a too-big body was still being sent.
          return 0;
        }
      };
      const auth = { authorization: `Bearer ${TOKEN}` };
      // fetch sets Host itself: a raw request says another name (a DNS-rebinding page would).
      const postWithHost = (host: string) =>
        new Promise<number>((resolve) => {
          const u = new URL(`${server.url}/join-admin/qr/python-101`);
          const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { host, ...auth, 'content-type': 'multipart/form-data; boundary=x', 'content-length': '0' } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', () => resolve(0));
          req.end();
        });
      const attempts: [string, () => Promise<number>, number[]][] = [
        ['no login', () => post('python-101', png, '2026-03-08', {}), [401]],
        ['a wrong token', () => post('python-101', png, '2026-03-08', { authorization: 'Bearer guess-guess-guess-guess-guess' }), [401]],
        ['from another site', () => post('python-101', png, '2026-03-08', { ...auth, origin: 'https://evil.example' }), [403]],
        ['under another host name', () => postWithHost('evil.example'), [403]],
        ['an SVG with a script', () => post('python-101', '<svg onload="alert(1)"></svg>'.padEnd(300, ' '), '2026-03-08', auth), [415]],
        ['HTML named .png', () => post('python-101', '<html><script>alert(1)</script></html>'.padEnd(300, ' '), '2026-03-08', auth), [415]],
        ['an empty file', () => post('python-101', new Uint8Array(), '2026-03-08', auth), [415]],
        ['a date that does not exist', () => post('python-101', png, '2026-02-30', auth), [400]],
        ['a date in the past', () => post('python-101', png, '2026-03-01', auth), [400]],
        ['a date beyond 7 days', () => post('python-101', png, '2099-12-31', auth), [400]],
        ['a date with SQL', () => post('python-101', png, "2026-03-08' OR '1'='1", auth), [400]],
        ['a paid group', () => post('python-vip', png, '2026-03-08', auth), [404]],
        ['a group climbing out', () => post('..%2F..%2Fetc', png, '2026-03-08', auth), [404]],
        ['an unknown group', () => post('__proto__', png, '2026-03-08', auth), [404]],
        // Last: the server answers 413 and closes while the body is still being sent.
        ['2 MB', () => post('python-101', new Uint8Array(2 * 1024 * 1024).fill(0x89), '2026-03-08', auth), [413, 0]],
      ];
      for (const [what, send, want] of attempts) {
        const status = await send();
        r.tried++;
        if (!want.includes(status)) r.problems.push(`upload with ${what}: answered ${status} (expected ${want.join('/')})`);
      }
      if (count('join_qr') !== 0 || count('join_qr_images') !== 0 || files() !== 0) r.problems.push(`bad uploads stored ${count('join_qr')} QR rows, ${count('join_qr_images')} images and ${files()} files`);
      r.lines.push(`${attempts.length} bad uploads: refused, ${count('join_qr')} QR rows, ${count('join_qr_images')} images and ${files()} files stored`);
      // The one good upload (a fresh connection: the 2 MB one closed its socket) is stored in the store, its bytes exactly; no file is written whatever it was called.
      const ok = await post('python-101', png, '2026-03-08', auth);
      r.tried++;
      const stored = (app.db.prepare('SELECT qr_id FROM join_qr_images').all() as { qr_id: number }[]).map((x) => qrImageBase64(app.db, x.qr_id));
      if (ok !== 200 || stored.length !== 1 || stored[0] !== Buffer.from(png).toString('base64') || files() !== 0) r.problems.push(`a good upload: ${ok}, ${stored.length} images stored, ${files()} files`);
    } finally {
      await server.close();
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    return r;
  },
};
