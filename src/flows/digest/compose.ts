/**
 * The text of the daily digest (日报) for one local day: short lines a phone shows whole. The
 * figures the dashboard also shows (revenue, questions, check-in rates, homework) come from its
 * metrics service, so the digest and the dashboard agree; the rest from ./store.ts. Staff are
 * left out of every member figure, imported members out of the new ones.
 */
import type { CourseConfig, Services } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { addDays, localInstant, showDay } from '../../util/days.js';
import { homeworkSubmittedBetween, membersEnteredBetween, newMembersBetween, quietMembers, refundsBetween, waitingQuestions } from './store.js';

const DAY_MS = 86_400_000;
/** Names and codes shown on one line at most; the rest is counted. */
const MAX_LISTED = 8;
const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];

/** What the digest is about: one local day of the course zone. */
export interface DigestDay {
  day: string;
  from: number;
  to: number;
}

export function digestDay(day: string, timeZone: string): DigestDay {
  return { day, from: localInstant(day, 0, timeZone), to: localInstant(addDays(day, 1), 0, timeZone) };
}

/** `3` → "3", `19.9` → "19.90": yuan as the dashboard's numbers hold them. */
const money = (yuan: number) => (Number.isInteger(yuan) ? String(yuan) : yuan.toFixed(2));
const pct = (n: number, d: number) => (d > 0 ? `${Math.round((n / d) * 100)}%` : '—');

function listed(items: string[], unit = '人'): string {
  const shown = items.slice(0, MAX_LISTED).join('、');
  return items.length > MAX_LISTED ? `${shown} 等 ${items.length} ${unit}` : shown;
}

/** The stages "about to churn" is watched in: the paid stage and the later ones on the growth path. */
function payingStages(config: CourseConfig): string[] {
  const path = config.stages.filter((s) => s.id !== 'churned' && s.phase !== '流失').map((s) => s.id);
  const i = path.indexOf('paid');
  return i < 0 ? [] : path.slice(i);
}

function sourceName(source: string): string {
  if (source === 'referral') return '推荐';
  if (source === 'direct') return '直接';
  return `渠道 ${source.slice('channel:'.length)}`;
}

/** Counts of each key in first-seen order, as "a 2、b 1". */
function tally(keys: string[]): string {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join('、');
}

/**
 * The digest of `day` as it stands at `now` (waiting questions: those still waiting now).
 *
 * @example composeDigest(db, config, services, digestDay('2026-03-02', 'Asia/Shanghai'), Date.now())
 */
export function composeDigest(db: Db, config: CourseConfig, services: Pick<Services, 'metrics'>, d: DigestDay, now: number): string {
  const staff = new Set(services.metrics.staffIds());
  const f = { from: d.from, to: d.to };
  const weekday = WEEKDAYS[new Date(`${d.day}T00:00:00Z`).getUTCDay()]!;
  const lines = [`📋 ${config.course.name} 日报 · ${showDay(d.day)}（${weekday}）`];

  const arrivals = newMembersBetween(db, d.from, d.to).filter((m) => !staff.has(m.id));
  const groupName = (h: string | null) => (h ? (config.groups[h]?.name ?? h) : '未进群');
  lines.push(
    arrivals.length === 0
      ? '👋 新成员 0 人'
      : `👋 新成员 ${arrivals.length} 人：${tally(arrivals.map((m) => groupName(m.first_group)))}｜来源：${tally(arrivals.map((m) => sourceName(m.source)))}`,
  );

  const rev = services.metrics.revenue(f, now);
  const paid = config.stageIds.includes('paid') ? membersEnteredBetween(db, 'paid', d.from, d.to).filter((id) => !staff.has(id)).length : 0;
  const refunds = refundsBetween(db, d.from, d.to);
  const stars = rev.stars && rev.stars.orders > 0 ? `，Stars ${rev.stars.gross}⭐（${rev.stars.orders} 单）` : '';
  lines.push(`💰 转为付费 ${paid} 人｜收入 ¥${money(rev.cny.gross)}（${rev.cny.orders} 单）${stars}｜退款 ${refunds.count} 笔 ¥${money(refunds.fen / 100)}`);

  const qa = services.metrics.qa(f, now);
  const waiting = waitingQuestions(db, now).filter((q) => !staff.has(q.member_id));
  lines.push(`❓ 提问 ${qa.asked} 个，机器人答 ${qa.answeredByBot} 个｜待回答 ${waiting.length} 个${waiting.length > 0 ? `：${listed(waiting.map((q) => `Q${q.id}`), '个')}` : ''}`);

  const checks = services.metrics.checkins(f, now);
  if (config.checkin && checks.groups.length > 0) {
    const rates = checks.groups.map((g) => {
      const row = g.days.find((x) => x.day === d.day);
      return `${groupName(g.group)} ${row?.checkins ?? 0}/${row?.members ?? 0}（${pct(row?.checkins ?? 0, row?.members ?? 0)}）`;
    });
    lines.push(`✅ 打卡：${rates.join('；')}`);
  }

  // The assignment of that day: the last one open by its end (a week counted from a cohort's
  // start: open once it is in some cohort; with several cohorts running, the furthest week).
  const opensBy = ({ opens }: NonNullable<CourseConfig['homework']>['assignments'][number]) =>
    opens.kind === 'at' ? opens.at < d.to : config.cohorts.some((c) => c.startAt + opens.days * DAY_MS < d.to);
  const current = (config.homework?.assignments ?? []).filter(opensBy).at(-1);
  const hw = current && checks.homework.find((h) => h.week === current.week);
  if (current && hw) {
    const handedIn = homeworkSubmittedBetween(db, d.from, d.to).filter((s) => s.week === current.week && !staff.has(s.member_id)).length;
    lines.push(`📝 第${current.week}周作业：当天交 ${handedIn} 份，共交 ${hw.submitted}/${hw.members}，未交 ${Math.max(0, hw.members - hw.submitted)} 人`);
  }

  const quietDays = config.digest?.quietDays ?? 5;
  const stages = payingStages(config);
  if (stages.length > 0) {
    const quiet = quietMembers(db, stages, d.to - quietDays * DAY_MS).filter((m) => !staff.has(m.id));
    lines.push(`⚠️ 快流失 ${quiet.length} 人（付费学员 ${quietDays} 天没动静）${quiet.length > 0 ? `：${listed(quiet.map((m) => m.display_name || '同学'))}` : ''}`);
  }
  return lines.join('\n');
}
