/**
 * One process's memory around one poster (bench/posters.ts runs it fresh per mode): RSS after a
 * GC before anything of the renderer is loaded, then after the first poster. Prints JSON.
 * Mode `subsets`: the fonts the text needs; `whole`: the whole font in both weights; `process`:
 * drawn as kequn draws it, in the posters' own process (src/flows/posters/renderer.ts): this
 * process's RSS once drawn and after the drawing process ended for being idle, and the drawing
 * process's own RSS while it lived.
 */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const settle = () => new Promise((r) => setTimeout(r, 300));
const mode = process.argv[2];
const content = { title: 'Python 数据分析训练营', tagline: '8 周从零到能独立做数据分析项目', lines: ['小明 邀请你一起学习'], code: 'K7M2XQ', link: 'https://t.me/kequn_bot?start=ref-K7M2XQ', footer: '扫码加入，新同学立减 20 元' };
const style = { layout: 'classic', background: '#1f4e79', color: '#ffffff', accent: '#ffd166' } as const;
gc();
const before = process.memoryUsage().rss;
if (mode === 'process') {
  const { renderInProcess, rendererState, setRendererIdleMs } = await import('../src/flows/posters/renderer.js');
  setRendererIdleMs(200);
  const t = performance.now();
  await renderInProcess(content, style);
  const ms = performance.now() - t;
  gc();
  const drawn = process.memoryUsage().rss - before;
  const status = (await import('node:fs')).readFileSync(`/proc/${rendererState().pid}/status`, 'utf8');
  const childRss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  while (rendererState().running) await settle();
  await settle();
  gc();
  process.stdout.write(JSON.stringify({ ms, rssGrowth: drawn, rssAfterIdle: process.memoryUsage().rss - before, childRss }));
} else {
  const { fontsFor, wholeFonts } = await import('../src/flows/posters/fonts.js');
  const { posterText, renderPoster } = await import('../src/flows/posters/render.js');
  const t = performance.now();
  await renderPoster(content, style, mode === 'whole' ? wholeFonts() : fontsFor(posterText(content)));
  const ms = performance.now() - t;
  gc();
  process.stdout.write(JSON.stringify({ ms, rssGrowth: process.memoryUsage().rss - before }));
}
