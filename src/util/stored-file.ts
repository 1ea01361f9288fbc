import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `data` to `path` in `dir` through a temporary name and a rename, so a reader (another
 * process starting at the same time) never sees half a file, then removes all but the `keep`
 * newest files of `dir` ending in `ext`. Used for what kequn keeps beside its store to start
 * faster (the Q&A index, the validated faq.yaml): losing one only costs a slower start. Throws
 * what the file system throws.
 */
export function writeKeepingNewest(dir: string, path: string, data: string | Uint8Array, ext: string, keep: number): void {
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
  const mtime = (f: string) => {
    try {
      return statSync(join(dir, f)).mtimeMs;
    } catch {
      return 0; // removed meanwhile by another process
    }
  };
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .map((f) => ({ f, t: mtime(f) }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of files.slice(keep)) rmSync(join(dir, f), { force: true });
}
