import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';

/** Largest file a config may name (a lesson, a key): a lesson is a chat message, not a book. */
export const MAX_NAMED_FILE_BYTES = 1024 * 1024;

export type NamedFile = { ok: true; path: string; text: string } | { ok: false; message: string };

/**
 * Reads a file that a config names (`lessons[].file`, `platform_keys[].file`): relative to the
 * config folder and, once every symlink is resolved, inside it. A config is data that sellers
 * copy around and accept in pull requests; `file: ../../../../etc/passwd` (or a symlink to it)
 * must not send a server file to a newcomer. Only regular files: a FIFO or a device would block
 * or never end.
 *
 * @example readNamedFile('config', 'lessons/01-intro.md') // { ok: true, path: '/srv/kequn/config/lessons/01-intro.md', text: '…' }
 * @example readNamedFile('config', '../../etc/passwd')     // { ok: false, message: 'outside the config folder …' }
 */
export function readNamedFile(dir: string, name: string): NamedFile {
  if (isAbsolute(name)) return { ok: false, message: `${name} is an absolute path: name a file inside the config folder, relative to it` };
  let root: string;
  let real: string;
  try {
    root = realpathSync(dir);
  } catch (e) {
    return { ok: false, message: `config folder unreadable: ${(e as Error).message}` };
  }
  try {
    real = realpathSync(resolve(root, name));
  } catch {
    // Only "not found" is said: what exists outside the folder is none of the config's business.
    return { ok: false, message: `file not found: ${name}` };
  }
  if (!real.startsWith(root + sep)) {
    return { ok: false, message: `${name} is outside the config folder${real === resolve(root, name) ? '' : ' (through a symlink)'}: files a config names must be inside it` };
  }
  let fd: number;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer (fstat refuses it next).
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, message: `cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, message: `${name} is not a regular file` };
    if (st.size > MAX_NAMED_FILE_BYTES) return { ok: false, message: `${name} is ${st.size} bytes; files a config names are limited to ${MAX_NAMED_FILE_BYTES} bytes` };
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, buf, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return { ok: true, path: real, text: buf.subarray(0, read).toString('utf8') };
  } finally {
    closeSync(fd);
  }
}
