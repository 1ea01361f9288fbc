import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, formatProblem } from './errors.js';
import type { CourseConfig } from '../core/types.js';

/** Editors write in several steps (a temp file, a rename, a chmod): reload once they are done. */
const SETTLE_MS = 300;
/** How often the folder is compared with what was last loaded, whatever the watchers said. */
const POLL_MS = 2000;
/** A course folder is a few YAML files and lessons; anything bigger is not watched file by file. */
const MAX_ENTRIES = 5000;

/**
 * Reloads the configuration when a file under its folder changes. A broken edit keeps the old
 * configuration running and logs every problem, so a typo never takes the bot down; the next
 * edit that fixes it applies.
 *
 * Why not one `fs.watch(dir, { recursive: true })`: on Linux, Node's recursive watcher follows
 * files by inode, and editors that write a new file and rename it over the old one (vim, `sed -i`,
 * `git checkout`) leave it watching a file that is gone: later edits went unnoticed. So every
 * folder is watched on its own (a folder's watcher sees entries created and renamed into it),
 * folders that appear or go are picked up on each change, and a poll compares the folder's
 * signature (each file's path, size, mtime and inode) every 2 s in case a watcher missed something.
 * A reload happens only when the signature changed.
 */
export function watchConfig(dir: string, log: Logger, apply: (config: CourseConfig) => void, opts: { load: (dir: string) => CourseConfig; pollMs?: number }): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watchers = new Map<string, FSWatcher>();
  let loaded = signature(dir);
  let warned = false;

  const reload = () => {
    try {
      const config = opts.load(dir);
      apply(config);
      log.info({ rules: config.rules.length }, 'config reloaded');
    } catch (e) {
      const problems = e instanceof ConfigError ? e.problems.map(formatProblem) : [(e as Error).message];
      log.error({ problems }, 'config change rejected; the previous configuration stays in force');
    }
  };
  const check = () => {
    syncWatchers();
    const now = signature(dir);
    if (now === loaded) return;
    loaded = now;
    reload();
  };
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(check, SETTLE_MS);
  };
  const syncWatchers = () => {
    const dirs = new Set(folders(dir));
    for (const [d, w] of watchers) {
      if (!dirs.has(d)) {
        w.close();
        watchers.delete(d);
      }
    }
    for (const d of dirs) {
      if (watchers.has(d)) continue;
      try {
        const w = watch(d, changed);
        // A folder removed while watched reports an error; the next sync drops it.
        w.on('error', () => {
          w.close();
          watchers.delete(d);
        });
        watchers.set(d, w);
      } catch (e) {
        if (!warned) log.warn({ err: (e as Error).message }, 'config: cannot watch a folder for changes; edits are picked up by polling every few seconds');
        warned = true;
      }
    }
  };
  syncWatchers();
  const poll = setInterval(check, opts.pollMs ?? POLL_MS);
  poll.unref();
  return () => {
    clearTimeout(timer);
    clearInterval(poll);
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}

/** The folder and its subfolders (hidden ones skipped: .git, editor swap folders). */
function folders(root: string): string[] {
  const out = [root];
  for (let i = 0; i < out.length && out.length < MAX_ENTRIES; i++) {
    try {
      for (const e of readdirSync(out[i]!, { withFileTypes: true })) if (e.isDirectory() && !e.name.startsWith('.')) out.push(join(out[i]!, e.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** What identifies the folder's content without reading it: every file's path, size, mtime and inode. */
function signature(root: string): string {
  const parts: string[] = [];
  for (const d of folders(root)) {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      // Editors' own files (vim's .swp and 4913 probe, backups ending in ~) are not the course.
      if (name.startsWith('.') || name.endsWith('~') || name === '4913' || parts.length > MAX_ENTRIES) continue;
      try {
        const s = statSync(join(d, name));
        if (s.isFile()) parts.push(`${join(d, name)}\u0000${s.size}\u0000${s.mtimeMs}\u0000${s.ino}`);
      } catch {
        // removed between the listing and the stat: the next look sees the folder as it is then
      }
    }
  }
  return parts.join('\n');
}
