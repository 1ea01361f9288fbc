/**
 * `kequn poster <member> --out FILE.png`: draws a member's referral poster as the bot would send
 * it (their name and code, the course's `poster:` template), to check it without a phone.
 * `kequn poster --demo --out FILE.png`: the same for a made-up member, without a store (to try a
 * template before anyone has a code).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CourseConfig } from '../core/types.js';
import { findOneMember } from '../core/member-arg.js';
import { UsageError } from '../core/types.js';
import { activeCodeOf } from '../flows/referral/store.js';
import { posterContent, posterLink, posterStyle } from '../flows/posters/poster.js';
import { renderPoster } from '../flows/posters/render.js';
import { identitiesOf } from '../store/members.js';
import { savedBotUsername } from '../store/telegram.js';
import { loadConfigOrReport, withCourseStore } from './check.js';

export const POSTER_USAGE = 'usage: kequn poster <member> --out FILE.png [--platform wechat|telegram] [--config DIR]   |   kequn poster --demo --out FILE.png [--platform wechat|telegram] [--config DIR]';

/** The made-up member of --demo. */
const DEMO = { id: 'demo', name: '小明', code: 'K7M2XQ' };

async function draw(config: CourseConfig, member: { id: string; name: string; code: string }, platform: string, botUsername: string | undefined, out: string, write: (line: string) => void): Promise<number> {
  const link = posterLink(config, member.code, platform, botUsername);
  const png = await renderPoster(posterContent(config, member, link), posterStyle(config));
  writeFileSync(out, png);
  write(`poster for ${member.name} (code ${member.code}, QR: ${link}, layout ${config.poster.layout}) written to ${out} (${png.length} bytes)`);
  return 0;
}

export async function runPoster(opts: { configDir: string; query: string | undefined; demo: boolean; out: string | undefined; platform: string | undefined; write: (line: string) => void }): Promise<number> {
  const { write } = opts;
  if (!opts.out || (opts.demo ? opts.query !== undefined : opts.query === undefined) || (opts.platform !== undefined && !['wechat', 'telegram'].includes(opts.platform))) {
    write(POSTER_USAGE);
    return 2;
  }
  const out = resolve(opts.out);
  if (opts.demo) {
    const config = loadConfigOrReport(opts.configDir, write);
    if (!config) return 2;
    const platform = opts.platform ?? 'wechat';
    return draw(config, DEMO, platform, config.privateChannel.telegram.username ?? 'your_course_bot', out, write);
  }
  // The store is read synchronously inside withCourseStore; the drawing happens after it closes.
  let job: { config: CourseConfig; member: { id: string; name: string; code: string }; platform: string; bot: string | undefined } | undefined;
  const code = withCourseStore(opts.configDir, write, (config, db) => {
    let member;
    try {
      member = findOneMember(db, opts.query!);
    } catch (e) {
      if (e instanceof UsageError) {
        write(e.message);
        return 1;
      }
      throw e;
    }
    const referral = activeCodeOf(db, member.id);
    if (!referral) {
      write(`${member.display_name} has no referral code yet (stage ${member.stage}; codes are issued at ${config.referral?.issue_at.join(', ') ?? 'no stage: referrals are off'})`);
      return 1;
    }
    const platform = opts.platform ?? identitiesOf(db, member.id)[0]?.platform ?? 'wechat';
    job = { config, member: { id: member.id, name: member.display_name, code: referral.code }, platform, bot: config.privateChannel.telegram.username ?? savedBotUsername(db) };
    return 0;
  });
  if (code !== 0 || !job) return code;
  const j = job as { config: CourseConfig; member: { id: string; name: string; code: string }; platform: string; bot: string | undefined };
  return draw(j.config, j.member, j.platform, j.bot, out, write);
}
