/**
 * The pages' browser code (src/**\/browser/, src/web/browser-assets.ts): each page's script
 * bundles into one self-contained script, bin/build.mjs builds exactly what the sources give in
 * memory, and the dashboard's JSON types fit what the server returns (at type level).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ensureBuild } from '../../bin/build.mjs';
import type { DashboardStats, PageWords } from '../../src/flows/dashboard/web/browser/types.js';
import type { pageTextJson } from '../../src/flows/dashboard/i18n.js';
import type { pageData } from '../../src/flows/dashboard/web/dashboard.js';
import { browserScript, browserStyle } from '../../src/web/browser-assets.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const src = (p: string) => new URL(`../../src/${p}`, import.meta.url);
const PAGES = {
  playground: { script: src('web/playground/browser/index.ts'), style: src('web/playground/browser/style.css') },
  dashboard: { script: src('flows/dashboard/web/browser/index.ts'), style: undefined },
  checkout: { script: src('flows/orders/web/browser/index.ts'), style: src('flows/orders/web/browser/style.css') },
};

describe('the pages\' scripts', () => {
  it.each(Object.entries(PAGES))('%s bundles into one script that imports nothing and parses no HTML', async (_name, page) => {
    const js = await browserScript(page.script);
    expect(js.length).toBeGreaterThan(500);
    // An IIFE of its own modules: nothing left to load, no module syntax for a classic <script>.
    expect(js.trimStart().startsWith('"use strict";\n(() => {') || js.trimStart().startsWith('(() => {')).toBe(true);
    expect(js).not.toMatch(/^\s*(import|export)\s/m);
    expect(js).not.toMatch(/\brequire\(/);
    expect(js).not.toContain('innerHTML');
  });

  it('keeps Chinese as it is written (charset utf8), not as \\u escapes', async () => {
    expect(await browserScript(PAGES.playground.script)).toContain('机器人在线');
  });

  it('a bundle that fails to build is reported, not served empty', async () => {
    await expect(browserScript(src('web/playground/browser/no-such-file.ts'))).rejects.toThrow();
  });

  it('the build (bin/build.mjs, what `kequn start` and the image run) holds exactly what the sources bundle to', async () => {
    const main = ensureBuild();
    expect(main, 'esbuild builds here').toBeDefined();
    // dist/<id>/src/cli/main.js → dist/<id>/
    const build = join(dirname(main!), '..', '..');
    const inBuild = (u: URL) => join(build, relative(ROOT, fileURLToPath(u)));
    for (const page of Object.values(PAGES)) {
      expect(readFileSync(inBuild(page.script).replace(/\.ts$/, '.js'), 'utf8')).toBe(await browserScript(page.script));
      if (page.style) expect(readFileSync(inBuild(page.style), 'utf8')).toBe(await browserStyle(page.style));
    }
  }, 60_000);
});

describe('the JSON the dashboard page reads', () => {
  it('is what /dashboard/api/stats returns (checked by the type checker)', () => {
    expectTypeOf<ReturnType<typeof pageData>>().toExtend<DashboardStats>();
  });

  it('its words are what the page writes into data-text (checked by the type checker)', () => {
    expectTypeOf<ReturnType<typeof pageTextJson>>().toExtend<PageWords>();
  });
});
