/**
 * A member's poster: what it says (the `poster:` template filled in for them), what its QR code
 * holds, and the PNG, drawn once per content and kept under the data folder: a second /海报 with
 * nothing changed sends the same file; a new name, code or template draws it again.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { renderTemplate } from '../../core/templates.js';
import type { CourseConfig } from '../../core/types.js';
import { dialectOf, sqliteOf, type Db } from '../../store/db.js';
import { RENDER_VERSION, type PosterContent, type PosterStyle } from './model.js';
import { renderInProcess } from './renderer.js';

/** Who the poster is for. */
export interface PosterMember {
  id: string;
  name: string;
  code: string;
}

/**
 * What the QR code holds: the course's own page (`poster.link`), else on Telegram the bot's link
 * that carries the code (a newcomer who opens it and presses Start is attributed), else the words
 * 「推荐码 CODE」, which a newcomer scanning in WeChat can copy and send to the bot.
 *
 * @example posterLink(config, 'K7M2XQ', 'telegram', 'kequn_bot') // 'https://t.me/kequn_bot?start=ref-K7M2XQ'
 */
export function posterLink(config: CourseConfig, code: string, platform: string, botUsername: string | undefined): string {
  if (config.poster.link !== null) return renderTemplate(config.poster.link, { ...config.values, course: config.course.name, bot: config.course.bot_name, referral_code: code });
  if (platform === 'telegram' && botUsername) return `https://t.me/${botUsername}?start=ref-${code}`;
  return `推荐码 ${code}`;
}

/** The poster's texts filled in for the member (course values, name, code). */
export function posterContent(config: CourseConfig, member: PosterMember, link: string): PosterContent {
  const vars = { ...config.values, name: member.name, course: config.course.name, bot: config.course.bot_name, referral_code: member.code };
  const p = config.poster;
  const fill = (t: string) => renderTemplate(t, vars).trim();
  return { title: fill(p.title), tagline: fill(p.tagline), lines: p.lines.map(fill).filter((l) => l !== ''), code: member.code, link, footer: fill(p.footer) };
}

export function posterStyle(config: CourseConfig): PosterStyle {
  const { layout, background, color, accent } = config.poster;
  return { layout, background, color, accent };
}

/** The temp folders of in-memory stores (tests, demos): as short-lived as the store. */
const memoryDirs = new WeakMap<Db, string>();

/**
 * Where posters are kept, by the store the bot really runs on (not what kequn.yaml's `data:`
 * says, which KEQUN_DATA or a test may override): `posters/` beside the SQLite file; for
 * PostgreSQL a folder of the system's temp folder named after the database; for an in-memory
 * store a temp folder of its own, removed when the bot stops (removeMemoryPosterDir).
 */
export function posterDir(db: Db, config: CourseConfig): string {
  if (dialectOf(db) === 'postgres') return join(tmpdir(), 'kequn-posters', createHash('sha256').update(config.dataPath).digest('hex').slice(0, 12));
  const file = sqliteOf(db).name;
  if (file !== ':memory:' && file !== '') return join(dirname(file), 'posters');
  let dir = memoryDirs.get(db);
  if (!dir) memoryDirs.set(db, (dir = mkdtempSync(join(tmpdir(), 'kequn-posters-'))));
  return dir;
}

/** Removes an in-memory store's poster folder (the store is gone with the process). */
export function removeMemoryPosterDir(db: Db): void {
  const dir = memoryDirs.get(db);
  if (!dir) return;
  memoryDirs.delete(db);
  rmSync(dir, { recursive: true, force: true });
}

/** The content hash a poster's file is named by: what is drawn, and how. */
export function posterHash(content: PosterContent, style: PosterStyle): string {
  return createHash('sha256').update(JSON.stringify({ v: RENDER_VERSION, content, style })).digest('hex').slice(0, 16);
}

/** A member id as a file name's start (ids are opaque: keep only safe characters, then a hash of the id). */
export function filePrefix(memberId: string): string {
  return `${memberId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40)}-${createHash('sha256').update(memberId).digest('hex').slice(0, 8)}-`;
}

/**
 * The member's poster file for this content: the cached one when it exists, else drawn now
 * (written to a temporary name and renamed, so a half-written file is never sent). A member's
 * older posters are removed once the new one is there.
 */
export async function cachedPoster(dir: string, memberId: string, content: PosterContent, style: PosterStyle): Promise<{ path: string; drawn: boolean }> {
  const prefix = filePrefix(memberId);
  const path = join(dir, `${prefix}${posterHash(content, style)}.png`);
  if (await stat(path).then((s) => s.size > 0, () => false)) return { path, drawn: false };
  await mkdir(dir, { recursive: true });
  // Drawn in the posters' own process (renderer.ts): its ~100 MB go when it has been idle a while.
  const png = await renderInProcess(content, style);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, png);
  await rename(tmp, path);
  for (const f of await readdir(dir)) if (f.startsWith(prefix) && join(dir, f) !== path && f.endsWith('.png')) await unlink(join(dir, f)).catch(() => {});
  return { path, drawn: true };
}
