import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, waitReady } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { openStore } from '../../src/store/db.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { cleanName, cleanNameSlowly, MAX_NAME_CHARS, oneLine, termSafe } from '../../src/util/display-text.js';
import { seededRandom } from '../../src/util/random.js';
import { getMember } from '../../src/store/members.js';
import { memberDetail } from '../../src/web/api.js';
import { removeTempDirs } from '../helpers/fixtures.js';
import { GROUP, startRig, telegramConfig } from '../helpers/telegram.js';

const dirs: string[] = [];
afterAll(() => {
  removeTempDirs();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Control characters, line breaks, bidi controls and invisible characters: what must never be printed raw. */
// eslint-disable-next-line no-control-regex -- finding them is the point
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u2028\u2029\ufeff]/;

/** Hostile names, and what each must become. */
const HOSTILE: [string, string][] = [
  ['Bob\u202Egnp.exe', 'Bobgnp.exe'],
  ['张三\nOWNER: 李老师 (instructor)', '张三 OWNER: 李老师 (instructor)'],
  ['Mal\u001b[2J\u001b[31mlory', 'Mal[2J[31mlory'],
  ['Al\u200Bi\u200Dce\uFEFF', 'Alice'],
  ['C1\u0085\u009bnext', 'C1 next'],
  ['\u2066iso\u2069\u200Elate\u061C', 'isolate'],
];

/** Names that must pass unchanged. */
const FRIENDLY = ['王小明', '李 老师', 'Ｈｉ　王', '👨‍👩‍👧 一家人', '🏳️‍🌈 Pride', '👩🏽‍💻 Ana', '🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scot', 'café au lait', '1️⃣ 号'];

describe('display names: normalised where they enter', () => {
  it('cleanName drops controls, line breaks, bidi and zero-width characters, and keeps Chinese, emoji and spaces', () => {
    for (const [raw, clean] of HOSTILE) expect(cleanName(raw), JSON.stringify(raw)).toBe(clean);
    for (const name of FRIENDLY) expect(cleanName(name), name).toBe(name);
    // A joiner is kept only between emoji: between letters it is the invisible-difference trick.
    expect(cleanName('Ali\u200Dce')).toBe('Alice');
    // At most 64 UTF-16 units, never half an emoji.
    expect(cleanName('😀'.repeat(40))).toBe('😀'.repeat(32));
    expect(cleanName('a' + '😀'.repeat(40))).toBe('a' + '😀'.repeat(31));
  });

  it('a plain name is taken as it is, and that gives what every step gives (issue 20: a name per event)', () => {
    // Pieces of every kind the steps look at, and plain ones, in random names of 0-80 units.
    const pieces = ['王', '小明', 'a', 'Z', ' ', '　', 'é', '\t', '\n', '\u0085', '\u2028', '\u0000', '\u001b', '\u007f', '\u009b', '\u00ad', '\u061c', '\u115f', '\u180e', '\u200b', '\u200d', '\u200e', '\u202e', '\u2060', '\u2066', '\u3164', '\ufeff', '\uffa0', '\ufffa', '😀', '👨', '🏽', '\ufe0f', '🏴', '\u{e0067}', '\u{e007f}', '\u{e0001}', '\u{f0001}', '\u{f0002}', '\ud800', '\udc00', '1️⃣', 'Ｈ', '-'];
    const r = seededRandom(5);
    let plain = 0;
    for (let n = 0; n < 5000; n++) {
      let name = '';
      while (name.length < Math.floor(r() * 80)) name += pieces[Math.floor(r() * (r() < 0.5 ? 5 : pieces.length))]!;
      expect([name, cleanName(name)]).toEqual([name, cleanNameSlowly(name)]);
      if (cleanName(name) === name && name.length <= MAX_NAME_CHARS) plain++;
    }
    // Both kinds were there: names taken as they are, and names the steps changed.
    expect(plain).toBeGreaterThan(500);
    expect(plain).toBeLessThan(4500);
  });

  it('termSafe shows every such character as an escape, valid JSON inside JSON, and passes Chinese and emoji', () => {
    for (const [raw] of HOSTILE) {
      expect(oneLine(raw)).not.toMatch(RAW);
      expect(oneLine(raw)).not.toContain('\n');
      expect(JSON.parse(termSafe(JSON.stringify({ raw }))).raw).toBe(raw);
    }
    for (const name of FRIENDLY) expect(termSafe(name)).toBe(name);
    expect(termSafe('line 1\nline 2')).toBe('line 1\nline 2');
    expect(oneLine('line 1\nline 2')).toBe('line 1\\nline 2');
  });

  it('WeChat (mock puppet): members with hostile names are stored clean, friendly names unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-names-'));
    dirs.push(dir);
    const dbPath = join(dir, 'kequn.db');
    const config = loadConfig('test/fixtures/course', { env: { KEQUN_DATA: dbPath } });
    const app = await createApp({ config, clock: new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00')), log: silentLogger, live: false, dbPath, env: {} });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    try {
      const all = [...HOSTILE, ...FRIENDLY.map((n) => [n, n] as [string, string])];
      for (const [i, [raw]] of all.entries()) {
        app.sim!.user(`u${i}`, raw);
        const handled = new Promise((r) => app.kernel.once('handled', r));
        app.sim!.join(`u${i}`, 'python-101@chatroom');
        await handled;
      }
      for (const [i, [, clean]] of all.entries()) {
        const row = app.db.prepare("SELECT m.display_name AS m, i.display_name AS i FROM identities i JOIN members m ON m.id = i.member_id WHERE i.platform = 'wechat' AND i.platform_id = ?").get(`u${i}`) as { m: string; i: string };
        expect(row, `u${i}`).toEqual({ m: clean, i: clean });
      }
    } finally {
      await app.stop();
    }
  });

  it('Telegram (fake Bot API over HTTP): a hostile first name is stored clean; one that was only invisible falls back to the username', async () => {
    const api = await FakeBotApi.start();
    const rig = await startRig({ api, config: telegramConfig() });
    try {
      const chat = api.group(GROUP.id, GROUP.title);
      api.say({ user: api.person(2001, 'Bob\u202Egnp.exe\n(owner)'), chat, text: '大家好' });
      api.say({ user: api.person(2002, '\u200B\u202E\u0007', 'blank_guy'), chat, text: '你好' });
      await rig.settle(2);
      const name = (id: string) => rig.app.db.prepare("SELECT display_name FROM identities WHERE platform = 'telegram' AND platform_id = ?").pluck().get(id);
      expect(name('2001')).toBe('Bobgnp.exe (owner)');
      expect(name('2002')).toBe('blank_guy');
    } finally {
      await rig.app.stop();
      await api.close();
    }
  });
});

describe('display names: never printed raw', () => {
  /** A store holding names as an older kequn stored them, raw (no normalisation at ingestion then). */
  let legacy: Promise<{ dbPath: string; ids: string[]; pageNames: string[] }> | undefined;
  const legacyStore = () => (legacy ??= makeLegacyStore());
  async function makeLegacyStore(): Promise<{ dbPath: string; ids: string[]; pageNames: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-names-cli-'));
    dirs.push(dir);
    const dbPath = join(dir, 'kequn.db');
    const config = loadConfig('test/fixtures/course', { env: { KEQUN_DATA: dbPath } });
    const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    const ids: string[] = [];
    const pageNames: string[] = [];
    try {
      for (const [i, [raw]] of HOSTILE.entries()) {
        app.sim!.user(`legacy${i}`, `legacy${i}`);
        const handled = new Promise((r) => app.kernel.once('handled', r));
        app.sim!.join(`legacy${i}`, 'python-101@chatroom');
        await handled;
        const said = new Promise((r) => app.kernel.once('handled', r));
        app.sim!.say(`legacy${i}`, { roomId: 'python-101@chatroom' }, `我是 ${raw}`);
        await said;
        const id = app.db.prepare("SELECT member_id FROM identities WHERE platform_id = ?").pluck().get(`legacy${i}`) as string;
        // As stored before names were normalised.
        app.db.prepare('UPDATE members SET display_name = ? WHERE id = ?').run(raw, id);
        app.db.prepare('UPDATE identities SET display_name = ? WHERE member_id = ?').run(raw, id);
        ids.push(id);
      }
      await app.kernel.runUntil(clock.now() + 60_000);
      // What a web page shows of a member (the playground's member record) is clean too.
      for (const id of ids) {
        const detail = memberDetail({ app, clock, log: silentLogger }, getMember(app.db, id)!);
        pageNames.push(detail.member.displayName, ...detail.identities.map((i) => i.displayName));
      }
    } finally {
      await app.stop();
    }
    return { dbPath, ids, pageNames };
  }

  function kequn(args: string[], dbPath: string): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => {
      execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, KEQUN_DATA: dbPath } }, (err, stdout) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
      });
    });
  }

  it('what the web pages show of a member (the playground member record) is clean, also for a name stored raw', async () => {
    const { pageNames } = await legacyStore();
    expect(pageNames).toEqual(HOSTILE.flatMap(([, clean]) => [clean, clean]));
  });

  // About twenty CLI processes one after another: more than the default 30 s on a busy machine.
  it('kequn why, member export, orders, referrals and a name search print no raw control, bidi or invisible character', { timeout: 120_000 }, async () => {
    const { dbPath, ids } = await legacyStore();
    const db = openStore(dbPath);
    try {
      // An order and a referral reward under one of them, so `orders` and `referrals` print the name.
      db.prepare(
        "INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, discounts, code, state, created_at, expires_at) VALUES ('o_names01', 'tok_names01', ?, 'wechat', 'legacy0', 'python-vip', 'CNY', 19900, 19900, '[]', NULL, 'created', 1, 2)",
      ).run(ids[0]);
    } finally {
      db.close();
    }
    const outputs: string[] = [];
    for (const id of ids) {
      const why = await kequn(['why', id], dbPath);
      expect(why.code, why.stdout).toBe(0);
      outputs.push(why.stdout);
      const exported = await kequn(['member', 'export', id], dbPath);
      expect(exported.code).toBe(0);
      // Still valid JSON, and it decodes to what is stored: the audit keeps the raw name.
      expect(JSON.parse(exported.stdout).member.display_name).toBe(HOSTILE[ids.indexOf(id)]![0]);
      outputs.push(exported.stdout);
    }
    outputs.push((await kequn(['orders'], dbPath)).stdout);
    outputs.push((await kequn(['referrals', 'list'], dbPath)).stdout);
    // A query that matches several members by name lists them, one line each.
    outputs.push((await kequn(['why', 'legacy'], dbPath)).stdout);
    for (const out of outputs) {
      expect(out).not.toMatch(RAW);
      // eslint-disable-next-line no-control-regex
      expect(out).not.toMatch(/\u001b/);
    }
    // The header line of `kequn why` stays one line: the name's newline is shown, not obeyed.
    const why1 = outputs[2]!.split('\n')[0]!;
    expect(why1).toMatch(/^张三\\nOWNER: 李老师 \(instructor\) \(m_[0-9a-f]+\) — stage/);
    expect(outputs.join('\n')).toContain('Bob\\u202egnp.exe');
    expect(outputs.some((o) => o.includes('o_names01') && o.includes('Bob\\u202egnp.exe'))).toBe(true);
  });
});
