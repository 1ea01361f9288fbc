import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The browser code of kequn's pages (the playground, the dashboard, the checkout) is TypeScript in
 * a `browser/` folder beside the routes that serve it: `browser/index.ts` is the page's script,
 * `browser/*.css` its style. `npm run typecheck` checks it with the DOM and without Node
 * (tsconfig.browser.json), `npm run lint` lints it, and esbuild bundles each index.ts with what it
 * imports into one script (an IIFE: the pages' CSP allows only 'self', no modules needed).
 *
 * Where the bundle comes from:
 * - run from the build (bin/kequn.mjs, the Docker image): bin/build.mjs bundled it at build time
 *   to `browser/index.js` beside where index.ts would be, so the `.js` sibling exists: read it;
 * - run from the sources (tsx, vitest): bundled in memory on first use, then kept.
 * bin/build.mjs uses the same options (BROWSER_TARGET there and here; a test compares the two).
 *
 * @example
 * const APP = new URL('./playground/browser/index.ts', import.meta.url);
 * web.get('/playground/app.js', async (c) => c.body(await browserScript(APP), 200, { 'content-type': SCRIPT_TYPE }));
 */

/** Browsers the pages support: WeChat's built-in browser and phones a few years old. */
export const BROWSER_TARGET = 'es2017';
export const SCRIPT_TYPE = 'text/javascript; charset=utf-8';
export const STYLE_TYPE = 'text/css; charset=utf-8';

const cache = new Map<string, Promise<string>>();

/** The bundled script of a `browser/index.ts` entry (a URL from `new URL('./…/index.ts', import.meta.url)`). */
export function browserScript(entry: URL): Promise<string> {
  const key = entry.href;
  let p = cache.get(key);
  if (!p) {
    p = loadScript(entry);
    // A failed bundle is not kept: the next request tries again (and reports again).
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

/** A style sheet in a `browser/` folder (copied into the build by bin/build.mjs). */
export function browserStyle(entry: URL): Promise<string> {
  const key = entry.href;
  let p = cache.get(key);
  if (!p) {
    p = Promise.resolve().then(() => readFileSync(fileURLToPath(entry), 'utf8'));
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function loadScript(entry: URL): Promise<string> {
  const source = fileURLToPath(entry);
  if (!source.endsWith('.ts')) throw new Error(`browser entry must be a .ts file: ${source}`);
  const built = source.replace(/\.ts$/, '.js');
  if (existsSync(built)) return readFileSync(built, 'utf8');
  // Only the sources run here: esbuild is a dependency (bin/build.mjs compiles the server with it).
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [source],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: BROWSER_TARGET,
    charset: 'utf8',
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}
