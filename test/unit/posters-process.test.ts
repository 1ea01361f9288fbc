import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedPoster } from '../../src/flows/posters/poster.js';
import { renderPoster, type PosterContent, type PosterStyle } from '../../src/flows/posters/render.js';
import { rendererState, renderInProcess, setRendererIdleMs, stopRenderer } from '../../src/flows/posters/renderer.js';

// The posters' drawing process (src/flows/posters/renderer.ts): started by the first poster,
// drawing the very PNG the renderer draws in this process, ended when idle, started again on demand.

const dir = mkdtempSync(join(tmpdir(), 'kequn-posters-process-'));
const saved = setRendererIdleMs(300);
afterAll(async () => {
  setRendererIdleMs(saved);
  stopRenderer();
  rmSync(dir, { recursive: true, force: true });
});

const CONTENT: PosterContent = { title: 'Python 数据分析训练营', tagline: '8 周从零到能独立做项目', lines: ['小明 邀请你一起学习'], code: 'K7M2XQ', link: 'https://t.me/kequn_test_bot?start=ref-K7M2XQ', footer: '扫码加入，立减 20 元' };
const STYLE: PosterStyle = { layout: 'card', background: '#1f4e79', color: '#ffffff', accent: '#ffd166' };

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

describe('posters: the drawing process', () => {
  it('draws the same PNG bytes as the renderer in this process, and ends when idle', async () => {
    expect(rendererState().running).toBe(false);
    const starts = rendererState().starts;
    const { path, drawn } = await cachedPoster(dir, 'm_1', CONTENT, STYLE);
    expect(drawn).toBe(true);
    expect(rendererState()).toMatchObject({ running: true, starts: starts + 1 });
    expect(readFileSync(path).equals(await renderPoster(CONTENT, STYLE))).toBe(true);
    // two at once: one thread, each answer to its own request
    const [a, b] = await Promise.all([renderInProcess({ ...CONTENT, code: 'AAAA11' }, STYLE), renderInProcess({ ...CONTENT, code: 'BBBB22' }, STYLE)]);
    expect(a.equals(await renderPoster({ ...CONTENT, code: 'AAAA11' }, STYLE))).toBe(true);
    expect(b.equals(await renderPoster({ ...CONTENT, code: 'BBBB22' }, STYLE))).toBe(true);
    expect(rendererState().starts).toBe(starts + 1);
    expect(await until(() => !rendererState().running, 5000)).toBe(true);
    // on demand again
    const again = await renderInProcess(CONTENT, STYLE);
    expect(again.equals(readFileSync(path))).toBe(true);
    expect(rendererState()).toMatchObject({ running: true, starts: starts + 2 });
    expect(await until(() => !rendererState().running, 5000)).toBe(true);
  });

  it('a drawing error comes back as an error, and the process keeps serving', async () => {
    await expect(renderInProcess(CONTENT, { ...STYLE, layout: 'nope' as PosterStyle['layout'] })).rejects.toThrow();
    const png = await renderInProcess(CONTENT, STYLE);
    expect(png.equals(await renderPoster(CONTENT, STYLE))).toBe(true);
  });
});
