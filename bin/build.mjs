// Compiles src/ to plain JavaScript for bin/kequn.mjs, so a running kequn does not carry tsx.
//
// tsx transforms each module on import through loader hooks that run in a second V8 isolate (a
// worker thread) for the life of the process: about 30 MB of RSS and 40-50 MB in all with its
// transform cache, which is a fifth of what kequn needs (see bench/memory.ts). esbuild (already
// installed as tsx's own compiler) turns the ~130 files into dist/<hash>/ in about half a second,
// once per change of the sources: the hash covers every file's content, so an edited source is
// never run stale, and a fresh clone needs no build step (`npm ci && npm start` builds on the
// first start). Builds go to a temporary folder renamed into place, so processes starting at the
// same time never see half a build.
//
// The pages' browser code (`browser/` folders: index.ts and *.css, see src/web/browser-assets.ts)
// is bundled here too, one script per index.ts, to browser/index.js beside where index.ts is.
//
//   node bin/build.mjs      builds now (the Dockerfile does this at image build time)
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Bump when the build options change, so old outputs are not reused. */
const BUILD_VERSION = 2;
/** Browsers the pages support; the same as BROWSER_TARGET in src/web/browser-assets.ts. */
const BROWSER_TARGET = 'es2017';

/** A file of the pages' browser code (bundled for the browser, not compiled for Node). */
const inBrowserFolder = (p) => /[\\/]browser[\\/]/.test(relative(root, p));

/**
 * The oldest Node the build must run on: the floor of package.json's engines (`>=20.19` →
 * `node20.19`), so the compiled code never uses syntax a supported Node lacks, whichever Node
 * (the Docker image's 26, a developer's 24) runs the build.
 */
function nodeTarget() {
  const range = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node ?? '';
  const floor = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(range.trim());
  if (!floor) throw new Error(`kequn build: package.json engines.node must be ">=X.Y" (got "${range}")`);
  return `node${floor[1]}`;
}

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if ((e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) || (e.name.endsWith('.css') && inBrowserFolder(p))) out.push(p);
    }
  };
  walk(join(root, 'src'));
  return out.sort();
}

/**
 * Returns the compiled `src/cli/main.js` for the current sources, building it if needed, or
 * undefined when it cannot be built here (esbuild missing, read-only install): the caller then
 * runs the sources through tsx as before.
 */
export function ensureBuild() {
  const files = sources();
  const esTarget = nodeTarget();
  const hash = createHash('sha256').update(`v${BUILD_VERSION}\n${esTarget}\n`);
  for (const f of files) hash.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  const id = hash.digest('hex').slice(0, 16);
  const dist = join(root, 'dist');
  const target = join(dist, id);
  const main = join(target, 'src', 'cli', 'main.js');
  if (existsSync(main)) return use(dist, id, main);
  let esbuild;
  try {
    esbuild = createRequire(import.meta.url)('esbuild');
  } catch {
    return undefined;
  }
  const tmp = join(dist, `.tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(dist, { recursive: true });
    // One output file per source, imports left as they are ('./x.js' finds the compiled x.ts),
    // so createRequire(import.meta.url) still resolves packages from the project's node_modules.
    const server = files.filter((f) => f.endsWith('.ts') && !inBrowserFolder(f));
    esbuild.buildSync({ entryPoints: server, outdir: tmp, outbase: root, format: 'esm', platform: 'node', target: esTarget, logLevel: 'silent' });
    // Each page's script with what it imports, as src/web/browser-assets.ts bundles it in memory.
    const pages = files.filter((f) => inBrowserFolder(f) && f.endsWith(`${sep}browser${sep}index.ts`));
    esbuild.buildSync({ entryPoints: pages, outdir: tmp, outbase: root, bundle: true, format: 'iife', platform: 'browser', target: BROWSER_TARGET, charset: 'utf8', logLevel: 'silent' });
    for (const f of files.filter((x) => x.endsWith('.css'))) {
      mkdirSync(dirname(join(tmp, relative(root, f))), { recursive: true });
      copyFileSync(f, join(tmp, relative(root, f)));
    }
    try {
      renameSync(tmp, target);
    } catch (e) {
      // Another process finished the same build first.
      if (!existsSync(main)) throw e;
    }
  } catch {
    return undefined;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  prune(dist, id);
  return use(dist, id, main);
}

/** Marks the build as in use by this process, so another's prune leaves it alone. */
function use(dist, id, main) {
  try {
    writeFileSync(join(dist, id, `.pid-${process.pid}`), '');
  } catch {
    // read-only install (the image's build is never pruned there either)
  }
  return main;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Removes older builds no live process uses. A running kequn still imports modules lazily (the
 * Telegram adapter, WeChat Pay, the LLM client), so its build must stay until it exits.
 */
function prune(dist, current) {
  try {
    for (const e of readdirSync(dist)) {
      if (!/^[0-9a-f]{16}$/.test(e)) continue;
      const users = readdirSync(join(dist, e)).filter((f) => f.startsWith('.pid-'));
      const live = users.filter((f) => alive(Number(f.slice(5))));
      if (e !== current && live.length === 0) rmSync(join(dist, e), { recursive: true, force: true });
      else for (const f of users) if (!live.includes(f)) rmSync(join(dist, e, f), { force: true });
    }
  } catch {
    // another process pruned at the same time
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const main = ensureBuild();
  if (!main) {
    process.stderr.write('kequn build: esbuild is not available or the build failed; bin/kequn.mjs will run the sources through tsx\n');
    process.exit(1);
  }
  process.stdout.write(`kequn build: ${relative(root, main)}\n`);
}
