/**
 * A profile in Chinese, as sections of lines: `kequn member show` prints them, the dashboard's
 * member page shows them. Times are the course's local times.
 */
import type { CourseConfig } from '../../core/types.js';
import { fmtLocal } from '../../util/localtime.js';
import type { Profile } from './contracts.js';

export interface ProfileSection {
  title: string;
  lines: string[];
}

/** `paid（购买）`: the stage id with its growth-path phase from kequn.yaml. */
export function stageLabel(config: CourseConfig, id: string | null): string {
  if (id === null) return '（无）';
  const phase = config.stages.find((s) => s.id === id)?.phase;
  return phase ? `${id}（${phase}）` : id;
}

/** ¥199.00, or 1500 Stars. */
export function money(amount: number, currency: string): string {
  return currency === 'XTR' ? `${amount} Stars` : `¥${Math.floor(amount / 100)}.${String(amount % 100).padStart(2, '0')}`;
}

/** 0.75 → 75%. */
export function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

const ORDER_STATE: Record<string, string> = { paid: '已支付', partially_refunded: '部分退款', refunded: '已退款' };

export function profileSections(p: Profile, config: CourseConfig): ProfileSection[] {
  const tz = config.course.timezone;
  const at = (ms: number) => fmtLocal(ms, tz);
  const c = p.checkins;
  return [
    {
      title: '基本信息',
      lines: [
        `成员：${p.name || '（无名字）'}（${p.memberId}）`,
        `阶段：${stageLabel(config, p.stage)}，自 ${at(p.stageSince)}`,
        `标签：${p.tags.length > 0 ? p.tags.join('、') : '无'}`,
        `所在群：${p.groups.length > 0 ? p.groups.map((g) => `${g.name}（${g.id}）`).join('、') : '无'}`,
        `期次：${p.cohorts.length > 0 ? p.cohorts.map((x) => x.name).join('、') : '无'}`,
        `首次进群：${p.firstJoinedAt === null ? '无' : at(p.firstJoinedAt)}`,
        `最近活跃：${at(p.lastActiveAt)}`,
      ],
    },
    {
      title: '阶段变化',
      lines: p.stageHistory.length > 0 ? p.stageHistory.map((t) => `${at(t.at)} ${stageLabel(config, t.from)} → ${stageLabel(config, t.to)}（${t.rule ? `规则 ${t.rule}` : t.actor}）`) : ['无'],
    },
    {
      title: '学习',
      lines: [
        `打卡：${c.counted} 天 / 应打卡 ${c.expected} 天（打卡率 ${percent(c.rate)}），请假 ${c.leave} 天，当前连续 ${c.streak} 天`,
        `作业：已交 ${p.homework.done} 次${p.homework.weeks > 0 ? ` / 共 ${p.homework.weeks} 周` : ''}，其中迟交 ${p.homework.late} 次`,
        `提问主题：${p.topics.length > 0 ? p.topics.map((t) => `${t.entry} ×${t.count}`).join('、') : '无'}`,
      ],
    },
    {
      title: '购买与推荐',
      lines: [
        ...(p.purchases.length > 0 ? p.purchases.map((o) => `${at(o.paidAt)} 《${o.title}》 ${money(o.paid, o.currency)} ${ORDER_STATE[o.state] ?? o.state}（订单 ${o.orderId}）`) : ['购买：无']),
        `推荐成员：${p.referrals.made} 人，其中已付费 ${p.referrals.paid} 人`,
      ],
    },
  ];
}

/** The sections as plain text lines (the CLI). */
export function profileText(p: Profile, config: CourseConfig): string[] {
  return profileSections(p, config).flatMap((s) => [`【${s.title}】`, ...s.lines.map((l) => `  ${l}`)]);
}
