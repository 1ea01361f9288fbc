import * as q from './store/dashboard.js';
import * as r from './store/rollups.js';
import { localDate, localParts, zoneOffsetMs } from '../../util/localtime.js';
import { cleanName } from '../../util/display-text.js';
import { channelFunnel, type ChannelFunnel } from './channel-funnel.js';
import { staffMemberIds } from './store/staff.js';
import { dashboardText, type Locale } from './i18n.js';
import { cohortConversion, type CohortConversion } from './cohort-conversion.js';

/**
 * The dashboard's figures, computed from the store. Each metric takes the store, the course
 * config and the same filter, and returns plain data (the page, the CSV export and
 * `kequn stats` all show these).
 */
export type { StatsContext, StatsFilter } from './stats-context.js';
import type { StatsContext, StatsFilter } from './stats-context.js';
import { joinChannels, type JoinChannelRow } from './join-channels.js';

const DAY_MS = 86_400_000;
/** Days shown in the daily check-in rate when the range is open at the start. */
const DEFAULT_CHECKIN_DAYS = 30;

function scope(ctx: StatsContext, f: StatsFilter): q.StatsScope {
  return { from: f.from ?? 0, to: f.to ?? ctx.now + 1, group: f.group ?? null, cohort: f.cohort ?? null, staff: staffMemberIds(ctx.db, ctx.config.staff) };
}

/** The course zone's UTC offset now: week and day boundaries use it. */
function offsetOf(ctx: StatsContext): number {
  return zoneOffsetMs(ctx.now, ctx.config.course.timezone);
}

/**
 * Brings the rollups up to date and returns the cohort scope to read them with; undefined when the
 * figures come from the base tables (`direct`, or more stages or groups than the rollups hold).
 */
function rollupScope(ctx: StatsContext, s: q.StatsScope): r.CohortScope | undefined {
  // The rollups are kept per group, not per cohort: the 期 filter reads the base tables.
  if (ctx.direct || s.cohort !== null) return undefined;
  if (!r.refreshDashboardRollups(ctx.db, { offsetMs: offsetOf(ctx) }).usable) return undefined;
  const staff = JSON.stringify(s.staff);
  if (s.group === null) return { from: s.from, to: s.to, groupFlag: 0, staff };
  const flag = r.groupFlag(ctx.db, s.group);
  // Nobody ever joined the group: its cohort is empty.
  return flag === null ? { from: 0, to: 0, groupFlag: 0, staff } : { from: s.from, to: s.to, groupFlag: flag, staff };
}

/**
 * Folds rows written since the last fold into the dashboard rollups, at most `maxBatches` batches
 * (the kernel calls this on a timer so that a dashboard read finds little to fold).
 */
export function foldDashboardRollups(ctx: Pick<StatsContext, 'db' | 'config' | 'now'>, maxBatches?: number): r.RefreshResult {
  return r.refreshDashboardRollups(ctx.db, { offsetMs: zoneOffsetMs(ctx.now, ctx.config.course.timezone), maxBatches });
}

/** Whether a stage-set mask (sum of distinct powers of two) holds `flag`. */
const hasFlag = (mask: number, flag: number) => Math.floor(mask / flag) % 2 === 1;

/** Median of an ascending list (mean of the two middle ones for an even count). */
export function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ratio(n: number, d: number): number | null {
  return d > 0 ? n / d : null;
}

export interface FunnelStage {
  stage: string;
  phase: string;
  /** cohort members who got this far on the growth path: entered this stage or a later one
   * (a member who skipped nurture on the way to paid still passed it). Exit stages: entered. */
  reached: number;
  /** cohort members who ever entered the stage itself */
  entered: number;
  /** cohort members in the stage now */
  now: number;
  /** reached / reached of the stage before (for an exit stage: reached / reached of the first stage) */
  conversion: number | null;
  /** an exit stage (churned): off the growth path, its rate is a share of everyone */
  exit: boolean;
  /** median length of a finished stay in the stage, ms */
  medianMs: number | null;
  /** finished stays, and members still in their stay */
  stays: number;
  open: number;
}

/** A stage off the growth path: the `churned` stage, or any whose phase is 流失. */
export function isExitStage(s: { id: string; phase?: string }): boolean {
  return s.id === 'churned' || s.phase === '流失';
}

/**
 * The funnel of the cohort (members first seen in the range) by lifecycle stage, in config order:
 * how many ever reached each stage, conversion from the stage before (漏斗率), time in stage.
 */
export function funnel(ctx: StatsContext, f: StatsFilter = {}): { cohort: number; stages: FunnelStage[] } {
  const s = scope(ctx, f);
  const path = ctx.config.stages.filter((st) => !isExitStage(st));
  const rs = rollupScope(ctx, s);
  const src = rs ? funnelFromRollups(ctx, rs, path) : funnelDirect(ctx, s, path);
  const beyond = (rank: number) => src.furthest.filter((r) => r.rank >= rank).reduce((a, r) => a + r.members, 0);
  const firstReached = beyond(0);
  let prev: number | undefined;
  const stages = ctx.config.stages.map((st): FunnelStage => {
    const exit = isExitStage(st);
    const entered = src.reach.get(st.id) ?? 0;
    const reached = exit ? entered : beyond(path.indexOf(st));
    const conversion = exit ? ratio(reached, firstReached) : prev === undefined ? null : ratio(reached, prev);
    if (!exit) prev = reached;
    const stay = src.stays.get(st.id);
    return {
      stage: st.id,
      phase: st.phase ?? '',
      reached,
      entered,
      now: src.current.get(st.id) ?? 0,
      conversion,
      exit,
      medianMs: stay?.medianMs ?? null,
      stays: stay?.stays ?? 0,
      open: stay?.open ?? 0,
    };
  });
  return { cohort: src.cohort, stages };
}

interface FunnelCounts {
  cohort: number;
  /** members who entered each stage */
  reach: Map<string, number>;
  /** members now in each stage */
  current: Map<string, number>;
  /** per path rank, members whose furthest path stage it is */
  furthest: { rank: number; members: number }[];
  stays: Map<string, { stays: number; open: number; medianMs: number | null }>;
}

function funnelDirect(ctx: StatsContext, s: q.StatsScope, path: { id: string }[]): FunnelCounts {
  return {
    cohort: q.countCohort(ctx.db, s),
    reach: new Map(q.stageReach(ctx.db, s).map((r) => [r.stage, r.members])),
    current: new Map(q.currentStages(ctx.db, s).map((r) => [r.stage, r.members])),
    furthest: q.furthestRank(ctx.db, s, Object.fromEntries(path.map((st, i) => [st.id, i]))),
    stays: new Map(q.stageStays(ctx.db, s).map((r) => [r.stage, { stays: r.durations.length, open: r.open, medianMs: median(r.durations) }])),
  };
}

function funnelFromRollups(ctx: StatsContext, rs: r.CohortScope, path: { id: string }[]): FunnelCounts {
  const flags = r.stageFlags(ctx.db);
  const rank = new Map(path.map((st, i) => [st.id, i]));
  const add = <K>(m: Map<K, number>, k: K, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  let cohort = 0;
  const reach = new Map<string, number>();
  const current = new Map<string, number>();
  const furthest = new Map<number, number>();
  const finished = new Map<string, number>();
  const open = new Map<string, number>();
  const wide = r.isWideCohort(ctx.db, rs);
  for (const row of r.cohortMembers(ctx.db, rs, wide)) {
    cohort += row.members;
    add(current, row.stage, row.members);
    let best = -1;
    for (const { stage, flag } of flags) {
      if (!hasFlag(row.stages, flag)) continue;
      add(reach, stage, row.members);
      best = Math.max(best, rank.get(stage) ?? -1);
      // One stay per stage entered; the stay in the open stage is still going.
      if (!row.repeats) add(finished, stage, stage === row.open_stage ? 0 : row.members);
    }
    if (!row.repeats && row.open_stage !== null) add(open, row.open_stage, row.members);
    if (best >= 0) add(furthest, best, row.members);
  }
  for (const x of r.repeatStays(ctx.db, rs)) {
    add(finished, x.stage, x.stays);
    add(open, x.stage, x.open);
  }
  const stays = new Map(
    ctx.config.stages.map((st) => {
      const n = finished.get(st.id) ?? 0;
      return [st.id, { stays: n, open: open.get(st.id) ?? 0, medianMs: r.stayMedian(ctx.db, rs, st.id, n, wide) }];
    }),
  );
  return { cohort, reach, current, furthest: [...furthest].map(([rank, members]) => ({ rank, members })), stays };
}

export interface Revenue {
  /** cohort members who reached the trial stage, of whom paid an order */
  trialToPaid: { trialStage: string; trial: number; paid: number; rate: number | null };
  /** orders paid in the range, in yuan (fen / 100) */
  cny: { orders: number; gross: number; refunded: number; refunds: number; net: number; averageOrder: number | null };
  /** of the CNY orders, those paid by staff (test purchases): counted in the revenue, shown apart */
  staff: { orders: number; net: number };
  /** Telegram Stars orders, in Stars (not converted) */
  stars: { orders: number; gross: number; refunded: number; net: number } | null;
  discounts: { kind: string; orders: number; yuan: number }[];
}

const yuan = (fen: number) => Math.round(fen) / 100;

/** Trial → paid conversion, revenue (paid minus refunded), average order value, discounts given. */
export function revenue(ctx: StatsContext, f: StatsFilter = {}): Revenue {
  const s = scope(ctx, f);
  const trialStage = ctx.config.stages.find((x) => x.id === 'trial')?.id ?? ctx.config.stages[1]?.id ?? 'trial';
  const rs = rollupScope(ctx, s);
  const tp = rs ? reachedAndPaidFromRollups(ctx, rs, trialStage) : q.countReachedAndPaid(ctx.db, s, trialStage);
  const totals = q.paidOrderTotals(ctx.db, s);
  const cny = totals.find((t) => t.currency === 'CNY') ?? { orders: 0, gross: 0, refunded: 0, refunds: 0 };
  const xtr = totals.find((t) => t.currency === 'XTR');
  return {
    trialToPaid: { trialStage, trial: tp.reached, paid: tp.paid, rate: ratio(tp.paid, tp.reached) },
    cny: {
      orders: cny.orders,
      gross: yuan(cny.gross),
      refunded: yuan(cny.refunded),
      refunds: cny.refunds,
      net: yuan(cny.gross - cny.refunded),
      averageOrder: cny.orders > 0 ? yuan(cny.gross / cny.orders) : null,
    },
    staff: (({ orders, net }) => ({ orders, net: yuan(net) }))(q.staffOrderTotals(ctx.db, s)),
    stars: xtr ? { orders: xtr.orders, gross: xtr.gross, refunded: xtr.refunded, net: xtr.gross - xtr.refunded } : null,
    discounts: q
      .discountTotals(ctx.db, s)
      .filter((d) => d.currency === 'CNY')
      .map((d) => ({ kind: d.kind, orders: d.orders, yuan: yuan(d.amount) })),
  };
}

function reachedAndPaidFromRollups(ctx: StatsContext, rs: r.CohortScope, stage: string): { reached: number; paid: number } {
  const flag = r.stageFlags(ctx.db).find((x) => x.stage === stage)?.flag;
  if (flag === undefined) return { reached: 0, paid: 0 };
  return { reached: r.cohortReached(ctx.db, rs, flag), paid: r.cohortReachedAndPaid(ctx.db, rs, flag) };
}

export interface RetentionCohort {
  /** Monday of the join week, local (YYYY-MM-DD) */
  week: string;
  members: number;
  /** active[k]: members active in the k-th week after joining (0 = the join week) */
  active: number[];
  rates: number[];
}

/** Monday (YYYY-MM-DD) of a Monday-based week number counted from the epoch. */
function mondayOf(week: number): string {
  return new Date((week * 7 - 3) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Weekly retention: cohorts by join week (first seen), share active in each following week
 * (checked in, asked a question the bot took up, or wrote a message), up to the current week.
 */
export function retention(ctx: StatsContext, f: StatsFilter = {}): RetentionCohort[] {
  const s = scope(ctx, f);
  const tz = ctx.config.course.timezone;
  // One offset for the whole range: exact for zones without daylight saving (Asia/Shanghai).
  const off = zoneOffsetMs(ctx.now, tz);
  const rs = rollupScope(ctx, s);
  const { sizes, active } = rs ? retentionFromRollups(ctx, rs, off) : q.retentionCounts(ctx.db, s, off);
  const nowWeek = Math.floor((Math.floor((ctx.now + off) / DAY_MS) + 3) / 7);
  return sizes.map(({ week, members }) => {
    const weeks = Math.max(0, nowWeek - week) + 1;
    const counts = new Array<number>(weeks).fill(0);
    for (const a of active) if (a.week === week && a.k < weeks) counts[a.k] = a.members;
    return { week: mondayOf(week), members, active: counts, rates: counts.map((n) => (members > 0 ? n / members : 0)) };
  });
}

function retentionFromRollups(ctx: StatsContext, rs: r.CohortScope, off: number): ReturnType<typeof q.retentionCounts> {
  const active = new Map<string, { week: number; k: number; members: number }>();
  for (const row of r.cohortActiveWeeks(ctx.db, rs, off)) {
    for (let bit = 0, mask = row.mask; mask > 0; bit++, mask = Math.floor(mask / 2)) {
      if (mask % 2 === 0) continue;
      const k = row.chunk * r.WEEKS_PER_CHUNK + bit;
      const key = `${row.join_week} ${k}`;
      const e = active.get(key);
      if (e) e.members += row.members;
      else active.set(key, { week: row.join_week, k, members: row.members });
    }
  }
  return { sizes: r.cohortWeekSizes(ctx.db, rs, off), active: [...active.values()] };
}

export interface CheckinStats {
  days: string[];
  groups: { group: string; days: { day: string; checkins: number; members: number; rate: number | null }[]; averageRate: number | null }[];
  streaks: { bucket: string; members: number }[];
  homework: { week: number; title: string; submitted: number; late: number; members: number; rate: number | null }[];
}

const STREAK_BUCKETS = ['1', '2-3', '4-7', '8-14', '15-30', '31+'];

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Daily check-in rate per check-in group, streak distribution, homework submission rate. */
export function checkins(ctx: StatsContext, f: StatsFilter = {}): CheckinStats {
  const tz = ctx.config.course.timezone;
  const off = zoneOffsetMs(ctx.now, tz);
  const to = Math.min(f.to ?? ctx.now + 1, ctx.now + 1);
  const lastDay = localDate(to - 1, tz);
  const firstDay = f.from !== undefined ? localDate(f.from, tz) : addDays(lastDay, -(DEFAULT_CHECKIN_DAYS - 1));
  const days: string[] = [];
  for (let d = firstDay; d <= lastDay && days.length < 366; d = addDays(d, 1)) days.push(d);
  const toDay = addDays(lastDay, 1);
  const all = ctx.config.checkin?.groups ?? [];
  // The 期 filter: its groups' check-in rates, its members' streaks.
  const ofCohort = (list: readonly string[]): string[] => (f.cohort === undefined ? [...list] : list.filter((g) => ctx.config.cohorts.find((c) => c.id === f.cohort)?.groups.includes(g)));
  const groups = ofCohort(f.group ? all.filter((g) => g === f.group) : all);
  const staff = staffMemberIds(ctx.db, ctx.config.staff);
  const staffJson = JSON.stringify(staff);

  const fast = !ctx.direct && f.cohort === undefined && r.refreshDashboardRollups(ctx.db, { offsetMs: off }).usable;
  const flagOf = (group: string) => r.groupFlag(ctx.db, group);
  const counts = new Map(
    fast
      ? groups.flatMap((group) => {
          const flag = flagOf(group);
          return flag === null
            ? []
            : r.groupCheckinsPerDay(ctx.db, { fromDay: firstDay, toDay, group, flag, offsetMs: off, staff: staffJson }).map((x): [string, number] => [`${group} ${x.day}`, x.checkins]);
        })
      : q.checkinsPerGroupDay(ctx.db, { fromDay: firstDay, toDay, groups, offsetMs: off, staff }).map((x): [string, number] => [`${x.group_id} ${x.day}`, x.checkins]),
  );
  const { before, changes } = fast
    ? q.membershipChangesFrom(ctx.db, { groups, offsetMs: off, fromDay: firstDay, staff })
    : { before: new Map<string, number>(), changes: q.membershipChanges(ctx.db, { groups, offsetMs: off, staff }) };
  const perGroup = groups.map((group) => {
    const deltas = changes.filter((c) => c.group_id === group);
    let i = 0;
    let members = before.get(group) ?? 0;
    const rows = days.map((day) => {
      while (i < deltas.length && deltas[i]!.day <= day) members += deltas[i++]!.delta;
      const n = counts.get(`${group} ${day}`) ?? 0;
      return { day, checkins: n, members, rate: ratio(n, members) };
    });
    const rated = rows.filter((r) => r.rate !== null);
    return { group, days: rows, averageRate: rated.length ? rated.reduce((a, r) => a + r.rate!, 0) / rated.length : null };
  });

  const streakFlag = f.group ? flagOf(f.group) : 0;
  const buckets = new Map(
    (fast
      ? streakFlag === null
        ? []
        : r.streakBucketsFromRollups(ctx.db, { fromDay: firstDay, toDay, groupFlag: streakFlag, staff: staffJson })
      : q.streakBuckets(ctx.db, { fromDay: firstDay, toDay, group: f.group ?? null, cohort: f.cohort ?? null, staff })
    ).map((b) => [b.bucket, b.members]),
  );
  const hw = ctx.config.homework;
  const hwGroups = hw ? ofCohort(f.group ? hw.groups.filter((g) => g === f.group) : hw.groups) : [];
  const hwMembers = hwGroups.length ? q.countActiveMembersIn(ctx.db, hwGroups, staff) : 0;
  const submitted = new Map(hwGroups.length ? q.homeworkCounts(ctx.db, { groups: hwGroups, staff }).map((r) => [r.week, r]) : []);
  return {
    days,
    groups: perGroup,
    streaks: STREAK_BUCKETS.map((bucket) => ({ bucket, members: buckets.get(bucket) ?? 0 })),
    homework: hwGroups.length
      ? (hw?.assignments ?? []).map((a) => {
          const r = submitted.get(a.week);
          return { week: a.week, title: a.title, submitted: r?.submitted ?? 0, late: r?.late ?? 0, members: hwMembers, rate: ratio(r?.submitted ?? 0, hwMembers) };
        })
      : [],
  };
}

export interface ReferralStats {
  leaderboard: { referrer: string; name: string; referred: number; paid: number; rewards: number }[];
  /**
   * Net revenue (yuan) by where the buyer came from, each order once: `referral`, `channel:<tag>`
   * (a Telegram start=src-<tag> link), `direct`; ROI when a cost was entered: (revenue - cost) / cost.
   * Adds up to the revenue (revenue.cny.net).
   */
  sources: SourceRevenue[];
  /** The same orders by the buyer's first group (`group:<handle>`, `group:(none)`): adds up to the revenue too. */
  groups: SourceRevenue[];
}

export interface SourceRevenue {
  /** the key a cost is entered under: referral, direct, channel:<tag>, group:<handle> */
  source: string;
  orders: number;
  revenue: number;
  cost: number | null;
  roi: number | null;
}

/** Referrer leaderboard, and revenue / ROI by source and, apart, by first group. */
export function referrals(ctx: StatsContext, f: StatsFilter = {}, limit = 20): ReferralStats {
  const s = scope(ctx, f);
  const costs = new Map(q.listCosts(ctx.db).map((c) => [c.source, c.cost_fen]));
  const withCosts = (rows: { source: string; orders: number; net: number }[], isMine: (source: string) => boolean): SourceRevenue[] => {
    // Every source with a cost shows, even before it brought an order.
    const bySource = new Map(rows.map((r) => [r.source, r]));
    for (const src of costs.keys()) if (isMine(src) && !bySource.has(src)) bySource.set(src, { source: src, orders: 0, net: 0 });
    return [...bySource.values()]
      .sort((a, b) => a.source.localeCompare(b.source))
      .map((r) => {
        const cost = costs.get(r.source);
        return { source: r.source, orders: r.orders, revenue: yuan(r.net), cost: cost === undefined ? null : yuan(cost), roi: cost ? (r.net - cost) / cost : null };
      });
  };
  return {
    leaderboard: q.referralLeaderboard(ctx.db, s, limit).map((r) => ({
      referrer: r.referrer_id,
      name: cleanName(r.display_name),
      referred: r.referred,
      paid: r.paid,
      rewards: yuan(r.reward_fen),
    })),
    sources: withCosts(q.revenueBySource(ctx.db, s), (src) => !src.startsWith('group:')),
    groups: withCosts(
      q.revenueByGroup(ctx.db, s).map((g) => ({ source: `group:${g.group}`, orders: g.orders, net: g.net })),
      (src) => src.startsWith('group:'),
    ),
  };
}

export interface QaStats {
  asked: number;
  answeredByBot: number;
  faq: number;
  llm: number;
  escalated: number;
  resolved: number;
  pending: number;
  dropped: number;
  medianInstructorMs: number | null;
}

/** Questions asked, answered by the bot (FAQ / LLM), escalated, median wait for an instructor. */
export function qa(ctx: StatsContext, f: StatsFilter = {}): QaStats {
  const s = scope(ctx, f);
  const c = q.questionCounts(ctx.db, s);
  return { ...c, answeredByBot: c.faq + c.llm, medianInstructorMs: median(q.instructorAnswerTimes(ctx.db, s)) };
}

export interface Dashboard {
  filter: { group: string | null; cohort: string | null; from: number | null; to: number | null };
  generatedAt: number;
  /** generatedAt as the seller reads it: local time in the course zone (YYYY-MM-DD HH:mm) */
  generatedAtLocal: string;
  timezone: string;
  locale: Locale;
  /** staff members left out of the member figures (store/staff.ts) */
  staffExcluded: number;
  /** group handle → name, for the tables */
  groupNames: Record<string, string>;
  funnel: ReturnType<typeof funnel>;
  revenue: Revenue;
  retention: RetentionCohort[];
  checkins: CheckinStats;
  referrals: ReferralStats;
  qa: QaStats;
  /** joined → private channel opened → trial lesson delivered → first question → paid */
  channel: ChannelFunnel;
  /** trial → paid per cohort (期), when the course has cohorts */
  cohorts: CohortConversion[];
  /** the join page's channels: views, joined, paid, revenue, spend, ROI (join-channels.ts) */
  joinChannels: JoinChannelRow[];
}

/** Everything the dashboard shows. */
export function dashboard(ctx: StatsContext, f: StatsFilter = {}): Dashboard {
  const t = dashboardText(ctx.config.course.locale);
  if (f.group !== undefined && !ctx.config.groups[f.group]) throw new StatsFilterError(t.filterErrors.unknownGroup(f.group, Object.keys(ctx.config.groups).join(', ')));
  return {
    filter: { group: f.group ?? null, cohort: f.cohort ?? null, from: f.from ?? null, to: f.to ?? null },
    generatedAt: ctx.now,
    generatedAtLocal: localDateTime(ctx.now, ctx.config.course.timezone),
    timezone: ctx.config.course.timezone,
    locale: ctx.config.course.locale ?? 'zh',
    staffExcluded: staffMemberIds(ctx.db, ctx.config.staff).length,
    groupNames: Object.fromEntries(Object.entries(ctx.config.groups).map(([h, g]) => [h, g.name])),
    funnel: funnel(ctx, f),
    revenue: revenue(ctx, f),
    retention: retention(ctx, f),
    checkins: checkins(ctx, f),
    referrals: referrals(ctx, f),
    qa: qa(ctx, f),
    channel: channelFunnel(ctx, f),
    cohorts: cohortConversion(ctx, f),
    joinChannels: joinChannels(ctx, f),
  };
}

/** A filter that names something the course does not have, or a date that is not one. */
export class StatsFilterError extends Error {}

/**
 * Reads a filter from text (query string, command line): `from`/`to` are local dates
 * (YYYY-MM-DD, `to` inclusive) in the course time zone, or full ISO times.
 */
export function parseFilter(raw: { group?: string; cohort?: string; from?: string; to?: string }, config: StatsContext['config']): StatsFilter {
  const tz = config.course.timezone;
  const errors = dashboardText(config.course.locale).filterErrors;
  const when = (key: 'from' | 'to', v: string | undefined): number | undefined => {
    if (v === undefined || v === '') return undefined;
    const day = /^\d{4}-\d{2}-\d{2}$/.test(v);
    const t = day ? localMidnight(v, tz) : Date.parse(v);
    if (!Number.isFinite(t) || (day && localDate(t, tz) !== v)) throw new StatsFilterError(errors.badDate(key, v));
    return day && key === 'to' ? localMidnight(addDays(v, 1), tz) : t;
  };
  const group = raw.group === undefined || raw.group === '' ? undefined : raw.group;
  if (group !== undefined && !config.groups[group]) throw new StatsFilterError(errors.unknownGroup(group, Object.keys(config.groups).join(', ')));
  const from = when('from', raw.from);
  const to = when('to', raw.to);
  if (from !== undefined && to !== undefined && from >= to) throw new StatsFilterError(errors.order);
  const cohort = raw.cohort === undefined || raw.cohort === '' ? undefined : raw.cohort;
  if (cohort !== undefined && !config.cohorts.some((c) => c.id === cohort)) {
    const known = config.cohorts.map((c) => c.id).join(', ');
    if (config.course.locale === 'en') throw new StatsFilterError(known ? `no cohort "${cohort}" (cohorts: ${known})` : `no cohort "${cohort}": the course has no cohorts (kequn.yaml cohorts:)`);
    throw new StatsFilterError(known ? `没有这一期 "${cohort}"（已有的期：${known}）` : `没有这一期 "${cohort}"：课程没有设置分期（kequn.yaml 的 cohorts:）`);
  }
  return { group, from, to, ...(cohort !== undefined ? { cohort } : {}) };
}

function localMidnight(day: string, tz: string): number {
  const utc = Date.parse(`${day}T00:00:00Z`);
  if (!Number.isFinite(utc)) return NaN;
  return utc - zoneOffsetMs(utc, tz);
}

/** YYYY-MM-DD HH:mm of an instant in the course zone. */
function localDateTime(t: number, tz: string): string {
  const p = localParts(t, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}
