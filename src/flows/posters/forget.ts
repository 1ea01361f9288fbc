/**
 * Forgetting a member (`kequn member forget`) removes their poster images too: a poster shows
 * their name and their referral code. The files are found by the member's file-name prefix in
 * the folder the bot keeps posters in (poster.ts posterDir); a half-written one goes as well.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { filePrefix, posterDir } from './poster.js';

/** Removes the member's poster files; returns how many. No folder yet: none. */
export function forgetPosterFiles(db: Db, config: CourseConfig, memberId: string): number {
  const dir = posterDir(db, config);
  const prefix = filePrefix(memberId);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  let n = 0;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    rmSync(join(dir, name), { force: true });
    n++;
  }
  return n;
}
