import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { fontsFor, parseSubsets } from '../../src/flows/posters/fonts.js';
import { cachedPoster, posterContent, posterDir, posterLink, removeMemoryPosterDir } from '../../src/flows/posters/poster.js';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/app.js';
import { inTransaction, openStore } from '../../src/store/db.js';
import { resolveMember } from '../../src/store/members.js';
import { POSTER_HEIGHT, POSTER_LAYOUTS, POSTER_WIDTH, renderPoster, type PosterContent, type PosterStyle } from '../../src/flows/posters/render.js';
import { demoConfig, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  removeTempDirs();
});

const LINK = 'https://t.me/kequn_test_bot?start=ref-K7M2XQ';
const CONTENT: PosterContent = { title: 'Python 数据分析训练营', tagline: '8 周从零到能独立做项目', lines: ['小明 邀请你一起学习'], code: 'K7M2XQ', link: LINK, footer: '扫码加入，立减 20 元' };
const STYLE: PosterStyle = { layout: 'classic', background: '#1f4e79', color: '#ffffff', accent: '#ffd166' };

/** The QR code's text as a phone's scanner reads it off the PNG. */
function scan(png: Buffer): { width: number; height: number; qr: string | undefined } {
  const img = PNG.sync.read(png);
  const found = jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height);
  return { width: img.width, height: img.height, qr: found?.data };
}

describe('posters: drawing', () => {
  it.each(POSTER_LAYOUTS)('the %s layout is a 750×1334 PNG whose QR code reads back as the invite link', async (layout) => {
    const png = await renderPoster(CONTENT, { ...STYLE, layout });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(scan(png)).toEqual({ width: POSTER_WIDTH, height: POSTER_HEIGHT, qr: LINK });
  }, 30_000);

  it('the member\'s name is drawn: another name gives another image, the same content the same bytes', async () => {
    const a = await renderPoster(CONTENT, STYLE);
    const again = await renderPoster(CONTENT, STYLE);
    const b = await renderPoster({ ...CONTENT, lines: ['小红 邀请你一起学习'] }, STYLE);
    expect(again.equals(a)).toBe(true);
    expect(b.equals(a)).toBe(false);
  }, 30_000);

  it('the background colour is the configured one (a corner pixel)', async () => {
    const img = PNG.sync.read(await renderPoster(CONTENT, { ...STYLE, background: '#c0392b' }));
    expect([...img.data.subarray(0, 3)]).toEqual([0xc0, 0x39, 0x2b]);
  }, 30_000);

  it('reads only the font subsets the text needs, and they hold every character of it', () => {
    const text = '小明邀请你一起学习 推荐码 K7M2XQ';
    const fonts = fontsFor(text);
    // Two weights, a handful of the ~100 subsets each, Latin included.
    expect(fonts.length).toBeGreaterThan(2);
    expect(fonts.length).toBeLessThan(40);
    expect(fonts.some((f) => f.name.includes('-latin-'))).toBe(true);
    expect(new Set(fonts.map((f) => f.weight))).toEqual(new Set([400, 700]));
    const css = readFileSync(createRequire(import.meta.url).resolve('@fontsource/noto-sans-sc/400.css'), 'utf8');
    const chosen = parseSubsets(css, 400).filter((s) => fonts.some((f) => f.name === s.file.replace(/\.woff$/, '')));
    for (const ch of text.replace(/\s/g, '')) {
      const c = ch.codePointAt(0)!;
      expect(chosen.some((s) => s.ranges.some(([a, b]) => c >= a && c <= b)), `${ch} is in a chosen subset`).toBe(true);
    }
  });

  it('parses a subset\'s file and unicode ranges from the package\'s CSS', () => {
    const css = "@font-face {\n  src: url(./files/x-1-400-normal.woff2) format('woff2'), url(./files/x-1-400-normal.woff) format('woff');\n  unicode-range: U+4e00-4e10,U+3002;\n}";
    expect(parseSubsets(css, 400)).toEqual([{ file: 'x-1-400-normal.woff', weight: 400, ranges: [[0x4e00, 0x4e10], [0x3002, 0x3002]] }]);
  });
});

describe('posters: what a member\'s poster says', () => {
  it('fills the template: course, selling line, the member\'s name, course values', () => {
    const config = demoConfig();
    const c = posterContent(config, { id: 'm1', name: '小明', code: 'K7M2XQ' }, 'x');
    expect(c).toEqual({ title: 'Python 数据分析训练营', tagline: '8 周从零到能独立做数据分析项目', lines: ['小明 邀请你一起学习'], code: 'K7M2XQ', link: 'x', footer: '扫码加入，新同学立减 20 元' });
  });

  it('the QR link: the course\'s page when configured, else the Telegram deep link, else the code in words on WeChat', () => {
    const config = demoConfig();
    expect(posterLink(config, 'K7M2XQ', 'telegram', 'kequn_bot')).toBe('https://t.me/kequn_bot?start=ref-K7M2XQ');
    expect(posterLink(config, 'K7M2XQ', 'wechat', 'kequn_bot')).toBe('推荐码 K7M2XQ');
    const withPage = { ...config, poster: { ...config.poster, link: 'https://example.com/join?ref={referral_code}' } };
    expect(posterLink(withPage, 'K7M2XQ', 'wechat', undefined)).toBe('https://example.com/join?ref=K7M2XQ');
  });
});

describe('posters: the cache', () => {
  it('draws once per content: the same content reuses the file, a new name or style draws again and removes the old one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-posters-'));
    dirs.push(dir);
    const first = await cachedPoster(dir, 'm_1', CONTENT, STYLE);
    expect(first.drawn).toBe(true);
    expect(scan(readFileSync(first.path)).qr).toBe(LINK);
    const second = await cachedPoster(dir, 'm_1', CONTENT, STYLE);
    expect(second).toEqual({ path: first.path, drawn: false });

    const renamed = await cachedPoster(dir, 'm_1', { ...CONTENT, lines: ['小红 邀请你一起学习'] }, STYLE);
    expect(renamed.drawn).toBe(true);
    expect(renamed.path).not.toBe(first.path);
    expect(existsSync(first.path)).toBe(false);

    const restyled = await cachedPoster(dir, 'm_1', { ...CONTENT, lines: ['小红 邀请你一起学习'] }, { ...STYLE, layout: 'card' });
    expect(restyled.drawn).toBe(true);
    // Another member's poster is theirs: kept beside.
    const other = await cachedPoster(dir, 'm_2', CONTENT, STYLE);
    expect(readdirSync(dir).sort()).toEqual([restyled.path, other.path].map((p) => p.slice(dir.length + 1)).sort());
  }, 30_000);

  it('`kequn member forget` removes the member\'s poster files (a half-written one too), not anyone else\'s', async () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'data: ../data/kequn.db', 'data: ./kequn.db') });
    const config = loadConfig(dir, { env: {} });
    const db = openStore(config.dataPath);
    const [ann, ben] = inTransaction(db, () =>
      ['ann', 'ben'].map((u) => resolveMember(db, { platform: 'wechat', platformId: u, displayName: u, initialStage: 'prospect', now: 0 }).member.id),
    );
    const folder = posterDir(db, config);
    db.close();
    expect(folder).toBe(join(dir, 'posters'));
    const annPoster = await cachedPoster(folder, ann!, CONTENT, STYLE);
    const benPoster = await cachedPoster(folder, ben!, CONTENT, STYLE);
    writeFileSync(`${annPoster.path}.4242.tmp`, 'half');
    const lines: string[] = [];
    const spy = process.stdout.write;
    process.stdout.write = ((x: string) => (lines.push(x), true)) as typeof process.stdout.write;
    try {
      expect(await main(['member', 'forget', ann!, '--config', dir])).toBe(0);
    } finally {
      process.stdout.write = spy;
    }
    expect(readdirSync(folder)).toEqual([benPoster.path.slice(folder.length + 1)]);
    expect(existsSync(annPoster.path)).toBe(false);
  }, 30_000);

  it('keeps posters beside the SQLite file the bot runs on (not the one kequn.yaml names); an in-memory store\'s in a temp folder removed with it', () => {
    const config = demoConfig();
    const dir = mkdtempSync(join(tmpdir(), 'kequn-store-'));
    dirs.push(dir);
    const file = openStore(join(dir, 'kequn.db'));
    expect(posterDir(file, config)).toBe(join(dir, 'posters'));
    expect(posterDir(file, config)).not.toContain(dirname(config.dataPath));
    file.close();
    const memory = openStore(':memory:');
    const temp = posterDir(memory, config);
    expect(temp).toMatch(new RegExp(`^${tmpdir()}/kequn-posters-`));
    expect(posterDir(memory, config)).toBe(temp);
    expect(existsSync(temp)).toBe(true);
    removeMemoryPosterDir(memory);
    expect(existsSync(temp)).toBe(false);
    memory.close();
  });
});
