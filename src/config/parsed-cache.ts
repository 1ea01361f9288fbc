/**
 * A config file as parsed and validated, kept on disk so a start does not parse it again: the
 * YAML parser takes 1-1.5 s for a 2 MB faq.yaml of 10,000 entries on a busy 2-core machine
 * (and leaves its syntax tree to collect), reading the stored result a few tens of ms.
 *
 * Kept where the Q&A index is kept (src/flows/qa/stored-index.ts): `qa-index/` beside the SQLite
 * file, a folder of the system's temp folder for PostgreSQL, none for an in-memory store. Only
 * `kequn start` (and its config reloads) use it: `kequn check` and `kequn test` parse every time.
 * Only for the sections that ask (ConfigSection.stored: faq.yaml), whose validated form depends
 * on the file's bytes alone (catalog.yaml's dates without an offset depend on the time zone).
 *
 * A stored file is used only when its key and checksum match. The key is a hash of the file's
 * bytes, its name, the features that read it, this format, kequn's code (the compiled build's
 * hash, or a hash of the sources under tsx) and the yaml and zod versions: a seller's edit, an
 * upgrade or another feature list each give another key, and the file is parsed again as before.
 * Only what validated is stored, and only values JSON keeps as they are (strings, finite numbers,
 * booleans, null, arrays and plain objects). A problem found later in a file that came from the
 * store (a duplicate id, a warning) is located by parsing the file then (YamlFile.lineOf).
 *
 * Layout (text): `KQNCFG1 <SHA-256 hex of the rest>\n` then JSON `{ key, file, data }`.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPostgresUrl } from '../store/url.js';
import { writeKeepingNewest } from '../util/stored-file.js';

const MAGIC = 'KQNCFG1';
/** Bump when the layout or what goes into the key changes. */
const FORMAT_VERSION = 1;
/** Stored files kept per folder (the newest): a few files of a course, and their previous versions. */
const KEEP = 8;
const EXT = '.cfgcache';

/**
 * The folder of stored indexes and parsed config files for a store: beside the SQLite file, in
 * the temp folder for PostgreSQL (named after the database), none for `:memory:`. The same
 * folder as storedIndexDir (src/flows/qa/stored-index.ts) computes from the open store.
 */
export function cacheDirFor(dataPath: string): string | undefined {
  if (isPostgresUrl(dataPath)) return join(tmpdir(), 'kequn-qa-index', createHash('sha256').update(dataPath).digest('hex').slice(0, 12));
  if (dataPath === ':memory:' || dataPath === '') return undefined;
  return join(dirname(resolve(dataPath)), 'qa-index');
}

let code: string | undefined;

/**
 * kequn's code, as far as it decides what a parsed file becomes: the compiled build's folder is
 * named after a hash of every source (bin/build.mjs); under tsx the sources are hashed here.
 * With the yaml and zod versions.
 */
export function codeFingerprint(): string {
  if (code) return code;
  const here = fileURLToPath(import.meta.url);
  const h = createHash('sha256');
  const built = /[\\/]dist[\\/]([0-9a-f]{16})[\\/]src[\\/]/.exec(here);
  if (built) {
    h.update(`build ${built[1]}\n`);
  } else {
    try {
      const root = join(dirname(here), '..');
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true })
          .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
          .sort();
      for (const f of walk(root)) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
    } catch {
      // Sources that cannot be read: a key no other run makes, so nothing stored is ever used.
      h.update(`unreadable ${process.pid} ${Date.now()} ${Math.random()}\n`);
    }
  }
  const require = createRequire(import.meta.url);
  for (const pkg of ['yaml', 'zod']) {
    try {
      h.update(`${pkg} ${(JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version?: string }).version}\n`);
    } catch {
      h.update(`${pkg} ?\n`);
    }
  }
  return (code = h.digest('hex'));
}

/** The key of a file's parsed form: its bytes, its name and who reads it (`scope`), the code. */
export function parsedKey(bytes: Uint8Array, name: string, scope: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ format: FORMAT_VERSION, code: codeFingerprint(), name, scope }))
    .update('\0')
    .update(bytes)
    .digest('hex');
}

const fileOf = (dir: string, key: string) => join(dir, `${key.slice(0, 32)}${EXT}`);

/** The stored value under `key`, or why there is none to use. Never throws. */
export function readParsed(dir: string, key: string): { data: unknown } | { error: string } {
  let text: string;
  try {
    text = readFileSync(fileOf(dir, key), 'utf8');
  } catch {
    return { error: 'none stored' };
  }
  try {
    const nl = text.indexOf('\n');
    const head = nl < 0 ? '' : text.slice(0, nl);
    const m = /^KQNCFG1 ([0-9a-f]{64})$/.exec(head);
    if (!m) return { error: 'not a stored config file' };
    const body = text.slice(nl + 1);
    if (createHash('sha256').update(body).digest('hex') !== m[1]) return { error: 'checksum mismatch' };
    const parsed = JSON.parse(body) as { key?: unknown; data?: unknown };
    if (parsed.key !== key || !('data' in parsed)) return { error: 'made from another file' };
    return { data: parsed.data };
  } catch (e) {
    return { error: (e as Error).message.slice(0, 200) };
  }
}

/**
 * Stores `data` under `key` (a temporary name renamed, so a reader never sees half a file),
 * then removes all but the newest few. Never throws; a value JSON would change is not stored.
 */
export function writeParsed(dir: string, key: string, name: string, data: unknown): { bytes: number } | { error: string } {
  try {
    if (!jsonSafe(data)) return { error: 'not plain JSON data' };
    const body = JSON.stringify({ key, file: name, data });
    const text = `${MAGIC} ${createHash('sha256').update(body).digest('hex')}\n${body}`;
    writeKeepingNewest(dir, fileOf(dir, key), text, EXT, KEEP);
    return { bytes: Buffer.byteLength(text) };
  } catch (e) {
    return { error: (e as Error).message.slice(0, 200) };
  }
}

/** True when JSON gives `v` back exactly: no undefined, NaN, Infinity, -0, Date, Map or class instance. */
export function jsonSafe(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonSafe(v[i])) return false;
    return true;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    for (const k of Object.keys(v)) if (k === '__proto__' || !jsonSafe((v as Record<string, unknown>)[k])) return false;
    return Object.getOwnPropertySymbols(v).length === 0;
  }
  return false;
}
