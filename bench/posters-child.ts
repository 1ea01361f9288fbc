/**
 * One process's memory around one poster (bench/posters.ts runs it fresh per mode): RSS after a
 * GC before anything of the renderer is loaded, then after the first poster. Prints JSON.
 * Mode `subsets`: the fonts the text needs; `whole`: the whole font in both weights.
 */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mode = process.argv[2];
gc();
const before = process.memoryUsage().rss;
const { fontsFor, wholeFonts } = await import('../src/flows/posters/fonts.js');
const { posterText, renderPoster } = await import('../src/flows/posters/render.js');
const content = { title: 'Python 数据分析训练营', tagline: '8 周从零到能独立做数据分析项目', lines: ['小明 邀请你一起学习'], code: 'K7M2XQ', link: 'https://t.me/kequn_bot?start=ref-K7M2XQ', footer: '扫码加入，新同学立减 20 元' };
const t = performance.now();
await renderPoster(content, { layout: 'classic', background: '#1f4e79', color: '#ffffff', accent: '#ffd166' }, mode === 'whole' ? wholeFonts() : fontsFor(posterText(content)));
const ms = performance.now() - t;
gc();
process.stdout.write(JSON.stringify({ ms, rssGrowth: process.memoryUsage().rss - before }));
