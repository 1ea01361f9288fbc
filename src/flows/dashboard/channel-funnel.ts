import * as q from './store/channel.js';
import { staffMemberIds } from './store/staff.js';
import { dashboardText } from './i18n.js';
import type { StatsContext, StatsFilter } from './stats-context.js';

/**
 * The newcomer's way in, step by step (docs/dashboard.md, "Private channel"): joined a course
 * group → private channel opened (WeChat: 加好友率, the account's friend; Telegram: Start 率) →
 * a trial lesson delivered privately → first question → paid. The cohort is the funnel's (members
 * first seen in the range, followed to today) narrowed to those who joined (with a group: joined
 * it); staff are not students and are left out.
 */
export interface ChannelFunnel {
  steps: ChannelStep[];
  /** Per platform: joined, channel opened there (the rate is 加好友率 / Start 率), lesson there. */
  platforms: { platform: string; label: string; joined: number; opened: number; rate: number | null; lesson: number }[];
  /** Channels opened by acquisition tag (Telegram `start=src-…`; '' none), and of those who paid. */
  sources: { source: string; opened: number; paid: number }[];
  /** Members who got lesson n privately. */
  lessons: { lesson: number; members: number }[];
  /** Private messages held in the range by outcome, and sequences that waited for a channel. */
  held: { waiting: number; delivered: number; expired: number; dropped: number; sequencesStarted: number; sequencesExpired: number; sequencesWaiting: number };
}

export interface ChannelStep {
  step: 'joined' | 'channel_opened' | 'lesson_delivered' | 'first_question' | 'paid';
  label: string;
  /** cohort members who did this step (whatever they did before) */
  members: number;
  /** members / joined */
  ofJoined: number | null;
  /** members who did this step and every one before it */
  through: number;
  /** through / through of the step before (漏斗转化) */
  conversion: number | null;
}

const STEPS: { step: ChannelStep['step']; key: 'opened' | 'lesson' | 'asked' | 'paid' | null }[] = [
  { step: 'joined', key: null },
  { step: 'channel_opened', key: 'opened' },
  { step: 'lesson_delivered', key: 'lesson' },
  { step: 'first_question', key: 'asked' },
  { step: 'paid', key: 'paid' },
];

function ratio(n: number, d: number): number | null {
  return d > 0 ? n / d : null;
}

function scopeOf(ctx: StatsContext, f: StatsFilter): q.ChannelScope {
  return { from: f.from ?? 0, to: f.to ?? ctx.now + 1, group: f.group ?? null, cohort: f.cohort ?? null, staff: staffMemberIds(ctx.db, ctx.config.staff) };
}

export function channelFunnel(ctx: StatsContext, f: StatsFilter = {}): ChannelFunnel {
  const s = scopeOf(ctx, f);
  const t = dashboardText(ctx.config.course.locale).tables;
  const combos = q.channelStepCombos(ctx.db, s);
  const joined = combos.reduce((a, c) => a + c.members, 0);
  let prevThrough: number | undefined;
  const steps = STEPS.map(({ step, key }, i): ChannelStep => {
    const keys = STEPS.slice(1, i + 1).map((x) => x.key!);
    const members = key === null ? joined : combos.filter((c) => c[key] === 1).reduce((a, c) => a + c.members, 0);
    const through = combos.filter((c) => keys.every((k) => c[k] === 1)).reduce((a, c) => a + c.members, 0);
    const conversion = prevThrough === undefined ? null : ratio(through, prevThrough);
    prevThrough = through;
    return { step, label: t.channelFunnel.steps[step], members, ofJoined: ratio(members, joined), through, conversion };
  });
  const count = (rows: { state: string; n: number }[], state: string) => rows.find((r) => r.state === state)?.n ?? 0;
  const held = q.heldOutcomes(ctx.db, s);
  return {
    steps,
    platforms: q.channelByPlatform(ctx.db, s).map((p) => ({ ...p, label: t.channelPlatforms.platforms[p.platform] ?? p.platform, rate: ratio(p.opened, p.joined) })),
    sources: q.channelBySource(ctx.db, s),
    lessons: q.lessonsDelivered(ctx.db, s),
    held: {
      waiting: count(held.messages, 'held'),
      delivered: count(held.messages, 'delivered'),
      expired: count(held.messages, 'expired'),
      dropped: count(held.messages, 'dropped'),
      sequencesStarted: count(held.sequences, 'started'),
      sequencesExpired: count(held.sequences, 'expired'),
      sequencesWaiting: count(held.sequences, 'waiting'),
    },
  };
}
