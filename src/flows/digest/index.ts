/**
 * The staff's daily digest (日报, docs/digest.md): at `digest.at` (local time) the staff that
 * `digest.to` names get, privately, a short Chinese report of the day before: new members and
 * their sources, moves to paid, revenue and refunds, questions and those still waiting (codes),
 * check-in rate per group, homework, members going quiet. `/digest [YYYY-MM-DD]` sends it to the
 * staff member who asks; `npx kequn digest [--date D]` prints it.
 */
import type { Feature } from '../../core/feature.js';
import type { CommandSpec, CourseConfig, StandingJob, SystemJobContext } from '../../core/types.js';
import { UsageError } from '../../core/types.js';
import type { Platform } from '../../bot/events.js';
import type { Db } from '../../store/db.js';
import { grantedIdsOn } from '../../store/staff-roles.js';
import { addDays, isDay } from '../../util/days.js';
import { localDate, nextLocalTime } from '../../util/localtime.js';
import { composeDigest, digestDay } from './compose.js';
import { digestSection } from './config.js';

/** The next time the digest is due, at or after `from`. */
function nextDigestAt(config: CourseConfig, from: number): number | undefined {
  return config.digest ? nextLocalTime(from, config.digest.minute, config.course.timezone) : undefined;
}

function plan(config: CourseConfig, now: number): StandingJob[] {
  const at = nextDigestAt(config, now);
  return at === undefined ? [] : [{ kind: 'digest.daily', dueAt: at, payload: {} }];
}

/**
 * Who gets the digest, one private chat each: staff of config `staff` whose role or name `to`
 * lists (on WeChat when they have a WeChat id, else Telegram), and members an owner granted a
 * listed role with /grant.
 */
export function digestRecipients(db: Db, config: CourseConfig): { platform: Platform; id: string }[] {
  const d = config.digest;
  if (!d) return [];
  const out = new Map<string, { platform: Platform; id: string }>();
  for (const s of config.staff) {
    if (!d.roles.includes(s.role) && !d.names.includes(s.name)) continue;
    const platform: Platform | undefined = s.wechat ? 'wechat' : s.telegram ? 'telegram' : undefined;
    if (platform) out.set(`${platform}:${s[platform]}`, { platform, id: s[platform]! });
  }
  const granted = d.roles.filter((r): r is 'instructor' | 'assistant' => r === 'instructor' || r === 'assistant');
  if (granted.length > 0) {
    for (const platform of ['wechat', 'telegram'] as const) {
      for (const id of grantedIdsOn(db, platform, granted)) out.set(`${platform}:${id}`, { platform, id });
    }
  }
  return [...out.values()];
}

/** The daily job: the digest of the day before the occurrence, to each recipient; plans the next. */
function runDaily(_payload: unknown, ctx: SystemJobContext): string {
  const config = ctx.config;
  const next = nextDigestAt(config, Math.max(ctx.now, ctx.dueAt) + 60_000);
  if (next !== undefined) ctx.plan({ kind: 'digest.daily', dueAt: next, payload: {} });
  if (!config.digest) return 'skipped: no digest in config';
  const tz = config.course.timezone;
  // The occurrence's day, not the clock's: a run caught up after midnight still reports its day.
  const day = addDays(localDate(ctx.dueAt, tz), -1);
  const text = composeDigest(ctx.db, config, ctx.services, digestDay(day, tz), ctx.now);
  const to = digestRecipients(ctx.db, config);
  for (const r of to) ctx.send({ platform: r.platform, chat: { kind: 'dm', id: r.id }, text, memberId: null, groupId: null });
  return `digest of ${day} sent to ${to.length} staff`;
}

const digestCommand: CommandSpec = {
  name: 'digest',
  roles: ['owner', 'instructor'],
  usage: '/digest [YYYY-MM-DD]',
  description: '私信日报（默认昨天）',
  run(args, ctx) {
    const tz = ctx.config.course.timezone;
    const arg = args.trim();
    if (arg !== '' && !isDay(arg)) throw new UsageError(`不是日期：${arg}`);
    const day = arg || addDays(localDate(ctx.now, tz), -1);
    ctx.send({ to: 'dm', text: composeDigest(ctx.db, ctx.config, ctx.services, digestDay(day, tz), ctx.now) });
    return `digest of ${day} sent privately`;
  },
};

export const digestFeature: Feature = {
  name: 'digest',
  config: [digestSection],
  needs: ['metrics'],
  commands: [digestCommand],
  jobs: [{ kind: 'digest', run: () => 'skipped: digest jobs are not planned per member', runSystem: runDaily }],
  plan,
};
