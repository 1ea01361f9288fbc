/**
 * Referral posters: the time and memory of drawing one poster (satori lays it out, resvg makes
 * the PNG), with the font read as the text needs it (a dozen or so ~40 KB subsets of Noto Sans
 * SC) against the same-run baseline of the whole font (1.5 MB per weight, as a renderer without
 * subsets would hold it). The cold figure is the first poster of the process (satori's and
 * yoga's WebAssembly set up, the fonts read and parsed); warm is the median of the next ones,
 * each for another member (another name, another QR code). RSS is measured in this process
 * before and after (after a GC when node runs with --expose-gc): an estimate, since the other
 * benchmarks share the process. A cache hit (the same poster again) costs a stat().
 * Run: npx tsx bench/posters.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fontsFor, loadedFontBytes, wholeFonts } from '../src/flows/posters/fonts.js';
import { cachedPoster } from '../src/flows/posters/poster.js';
import { posterText, renderPoster, type PosterContent, type PosterStyle } from '../src/flows/posters/render.js';
import { pct, report, type BenchResult } from './report.js';

const MB = 1024 * 1024;

const WARM = 8;
const STYLE: PosterStyle = { layout: 'classic', background: '#1f4e79', color: '#ffffff', accent: '#ffd166' };
const NAMES = ['小明', '王小红', '李雷', '韩梅梅', '张伟', '刘洋', '陈静', '杨帆', '赵磊', '周婷'];

function content(i: number): PosterContent {
  const code = `K7M${i}XQ`;
  return { title: 'Python 数据分析训练营', tagline: '8 周从零到能独立做数据分析项目', lines: [`${NAMES[i % NAMES.length]} 邀请你一起学习`], code, link: `https://t.me/kequn_bot?start=ref-${code}`, footer: '扫码加入，新同学立减 20 元' };
}

interface ChildFigures {
  ms: number;
  rssGrowth: number;
  rssAfterIdle?: number;
  childRss?: number;
}

/** A fresh process's figures (RSS growth from the renderer and one poster), in the given mode. */
function childFigures(mode: 'subsets' | 'whole' | 'process'): ChildFigures {
  const child = fileURLToPath(new URL('./posters-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, mode], { encoding: 'utf8' });
  return JSON.parse(out) as ChildFigures;
}

const childRss = (mode: 'subsets' | 'whole') => childFigures(mode).rssGrowth / MB;

async function timeRenders(fonts: (c: PosterContent) => Parameters<typeof renderPoster>[2]): Promise<{ cold: number; warm: number }> {
  let t = performance.now();
  await renderPoster(content(0), STYLE, fonts(content(0)));
  const cold = performance.now() - t;
  const times: number[] = [];
  for (let i = 1; i <= WARM; i++) {
    t = performance.now();
    await renderPoster(content(i), STYLE, fonts(content(i)));
    times.push(performance.now() - t);
  }
  return { cold, warm: pct(times.sort((a, b) => a - b), 50) };
}

export async function benchPosters(): Promise<BenchResult[]> {
  const subsets = await timeRenders((c) => fontsFor(posterText(c)));
  const held = loadedFontBytes();
  const whole = wholeFonts();
  const wholeBytes = whole.reduce((n, f) => n + f.data.length, 0);
  const baseline = await timeRenders(() => whole);

  const rssSubsets = childRss('subsets');
  const rssWhole = childRss('whole');
  const apart = childFigures('process');

  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-posters-'));
  await cachedPoster(dir, 'm1', content(1), STYLE);
  const hits: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await cachedPoster(dir, 'm1', content(1), STYLE);
    hits.push(performance.now() - t);
  }
  rmSync(dir, { recursive: true, force: true });

  return [
    { name: 'posters.render_warm_ms', value: subsets.warm, unit: 'ms', baseline: 'whole font', baseline_value: baseline.warm, ratio: baseline.warm / subsets.warm, note: `median of ${WARM} posters for other members, 750×1334 PNG; ratio = whole font / subsets (higher is better)` },
    { name: 'posters.render_cold_ms', value: subsets.cold, unit: 'ms', baseline: 'whole font', baseline_value: baseline.cold, ratio: baseline.cold / subsets.cold, note: 'the first poster of the process: WebAssembly set up, fonts read and parsed' },
    { name: 'posters.font_bytes_held', value: held.bytes / 1024, unit: 'KB', baseline: 'whole font', baseline_value: wholeBytes / 1024, ratio: wholeBytes / held.bytes, note: `${held.files} subset files read for ${WARM + 1} posters` },
    { name: 'posters.rss_growth_mb', value: rssSubsets, unit: 'MB', baseline: 'whole font', baseline_value: rssWhole, ratio: rssWhole / rssSubsets, note: 'RSS a fresh process gains from the renderer and one poster, after a GC; ratio = whole font / subsets (higher is better)' },
    {
      name: 'posters.bot_rss_after_idle_mb',
      value: apart.rssAfterIdle! / MB,
      unit: 'MB',
      baseline: 'drawn in the bot\'s process',
      baseline_value: rssSubsets,
      ratio: rssSubsets / Math.max(apart.rssAfterIdle! / MB, 1),
      note: `RSS the bot keeps after one poster drawn as kequn draws it (its own process, ended when idle), after a GC; ${(apart.rssGrowth / MB).toFixed(1)} MB while the drawing process lives, which itself holds ${(apart.childRss! / MB).toFixed(0)} MB until it ends; first poster ${Math.round(apart.ms)} ms (the process started and the renderer loaded) against ${Math.round(subsets.cold)} ms in-process cold`,
    },
    { name: 'posters.cache_hit_ms', value: pct(hits.sort((a, b) => a - b), 50), unit: 'ms', note: 'the same poster again: the content hash and a stat() of the cached file' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(await benchPosters());
