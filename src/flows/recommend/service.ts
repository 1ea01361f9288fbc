/**
 * The ranking for one member from the store: the catalog as ranking items (products on sale),
 * the member's signals (through the profile service) and everyone's paid orders.
 */
import type { CourseConfig, Services } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { getMember, tagsOf } from '../../store/members.js';
import { fmtLocal } from '../../util/localtime.js';
import type { Recommendation } from './contracts.js';
import { rank, type CatalogItem, type MemberSignals } from './rank.js';
import { isOptedOut, optOutAt, recommendationsOf } from './store.js';
import { cachedCoPurchase } from './co-purchase-cache.js';

/** Stages that mean the member finished their latest course (the growth path's 成熟期 and 忠诚期). */
const FINISHED_STAGES = new Set(['mature', 'loyal']);

/** Products of catalog.yaml that can be bought at `now`, in catalog order. */
export function catalogItems(config: CourseConfig, now: number): CatalogItem[] {
  return Object.values(config.catalog.products)
    .filter((p) => (p.sale.from === undefined || now >= p.sale.from) && (p.sale.until === undefined || now < p.sale.until))
    .map((p) => ({ id: p.id, title: p.title, tags: p.tags, topics: p.topics, requires: p.requires }));
}

/**
 * What the ranking knows of a member: what they bought and asked (the profile service), their
 * tags, and what they finished: every purchase before the latest (they moved on), and the latest
 * once they reached mature or loyal or handed in every homework week.
 */
export function signalsOf(db: Db, config: CourseConfig, services: Services, memberId: string): MemberSignals {
  const bought = services.profile.bought(db, memberId);
  const member = getMember(db, memberId);
  const hw = services.profile.homework(db, memberId);
  const latestDone = member !== undefined && (FINISHED_STAGES.has(member.stage) || (hw.weeks > 0 && hw.done >= hw.weeks));
  const finished = latestDone ? bought : bought.slice(0, -1);
  return { bought, finished, topics: services.profile.topics(db, memberId), tags: tagsOf(db, memberId) };
}

export function rankFor(db: Db, config: CourseConfig, services: Services, memberId: string, now: number): Recommendation[] {
  const items = catalogItems(config, now);
  const signals = signalsOf(db, config, services, memberId);
  return rank(items, signals, cachedCoPurchase(db, signals.bought, now)).map((r) => ({
    productId: r.productId,
    title: config.catalog.products[r.productId]!.title,
    score: r.score,
    reason: r.reason,
    requiresMet: r.parts.requiresMet,
  }));
}

/** The ranking as numbered lines: `1. 《数据分析》 0.62 — 因为你…`. */
export function rankingLines(list: readonly Recommendation[]): string[] {
  if (list.length === 0) return ['没有可以推荐的课程（都已购买，或没有在售的课程）'];
  return list.map((r, i) => `${i + 1}. 《${r.title}》（${r.productId}）得分 ${r.score.toFixed(2)}${r.requiresMet ? '' : '，先修课未完成'} — ${r.reason}`);
}

export function pageSections(db: Db, config: CourseConfig, services: Services, memberId: string, now: number): { title: string; lines: string[] }[] {
  const tz = config.course.timezone;
  const sent = recommendationsOf(db, memberId);
  const out = optOutAt(db, memberId);
  return [
    { title: '课程推荐（排序与理由）', lines: rankingLines(rankFor(db, config, services, memberId, now)) },
    {
      title: '已发送的推荐',
      lines: [
        ...(sent.length > 0 ? sent.map((r) => `${fmtLocal(Number(r.sent_at), tz)} 《${config.catalog.products[r.product_id]?.title ?? r.product_id}》 — ${r.reason}`) : ['无']),
        isOptedOut(db, memberId) && out !== undefined ? `已退订课程推荐（${fmtLocal(out, tz)}）` : '接收课程推荐',
      ],
    },
  ];
}
