/**
 * Next-course recommendations (docs/recommendations.md): the `recommend` rule action sends a
 * member, privately, the product ranked first for them with its reason and the checkout link
 * (through the orders feature's `checkout` service: server-side price, every discount that
 * applies); a 报名 while it is open buys that product (`buy_recommended`); never more than
 * `recommend.max_per_month` per member, never to a member who said 退订 (`/unsubscribe`) until
 * they say 订阅 (`/subscribe`).
 */
import { z } from 'zod';
import type { Feature } from '../../core/feature.js';
import type { ActionSpec, CommandSpec, RunContext } from '../../core/types.js';
import { localInstant } from '../../util/days.js';
import { localDate } from '../../util/localtime.js';
import { fmtLocal } from '../../util/localtime.js';
import { recommendSection } from './config.js';
import { forgetCoPurchase } from './co-purchase-cache.js';
import type { RecommendService } from './contracts.js';
import { recommendDashboard } from './dashboard.js';
import { pageSections, rankFor } from './service.js';
import { countSentSince, forgetRecommendations, isOptedOut, latestRecommendation, optIn, optOut, optOutAt, recommendationsOf, recordRecommendation } from './store.js';

declare module '../../core/types.js' {
  interface Services {
    recommend: RecommendService;
  }
}

/** The first instant of the local calendar month `now` is in. */
export function monthStart(now: number, timeZone: string): number {
  return localInstant(`${localDate(now, timeZone).slice(0, 7)}-01`, 0, timeZone);
}

/** The member's open recommendation: the latest, sent within `open_for`, its product not bought since. */
function openRecommendation(ctx: Pick<RunContext, 'db' | 'config' | 'member' | 'now' | 'services'>) {
  const r = latestRecommendation(ctx.db, ctx.member.id);
  if (!r || ctx.now - Number(r.sent_at) > ctx.config.recommend.open_for) return undefined;
  if (ctx.services.profile.bought(ctx.db, ctx.member.id).includes(r.product_id)) return undefined;
  return r;
}

/** Sends the member their first-ranked product with its reason and the checkout link; returns the trace note. */
function recommendNow(ctx: RunContext): string {
  const { db, config, member, now } = ctx;
  if (isOptedOut(db, member.id)) return 'not sent: the member opted out of recommendations (退订)';
  const max = config.recommend.max_per_month;
  const sent = countSentSince(db, member.id, monthStart(now, config.course.timezone));
  if (sent >= max) return `not sent: ${sent} recommendation(s) this month already (recommend.max_per_month: ${max})`;
  // A course whose prerequisites they have not bought is ranked (kequn recommend shows it) but not sent.
  const ranking = rankFor(db, config, ctx.services, member.id, now).filter((r) => r.requiresMet);
  if (ranking.length === 0) return 'not sent: nothing to recommend (every product on sale whose prerequisites they have is bought)';
  // The best one that can be sold to them now (a sold-out course is skipped, never announced).
  const skipped: string[] = [];
  for (const top of ranking) {
    const product = config.catalog.products[top.productId]!;
    const intro = ctx.render(config.recommend.message, { product: product.title, reason: top.reason, price: `¥${(product.price_fen / 100).toFixed(2)}` });
    // One message, the recommendation and its link: fewer sends is what keeps a WeChat account safe.
    const linked = ctx.services.checkout.sendLink(top.productId, ctx, intro);
    if (!linked.sent) {
      skipped.push(`${top.productId} (${linked.note})`);
      continue;
    }
    recordRecommendation(db, { memberId: member.id, productId: top.productId, reason: top.reason, score: top.score, ruleId: ctx.ruleId, now });
    return `recommended ${top.productId} (score ${top.score.toFixed(2)}: ${top.reason}); ${linked.note}${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}`;
  }
  return `not sent: no ranked product can be sold to the member now: ${skipped.join(', ')}`;
}

const noArg = z.union([z.null(), z.strictObject({})]).optional();

const recommendAction: ActionSpec<z.infer<typeof noArg>> = {
  name: 'recommend',
  description: 'send the member privately the next course ranked first for them, with the reason and the checkout link (at most recommend.max_per_month; never after 退订)',
  schema: noArg,
  check: (_a, ctx) => (Object.keys(ctx.config.catalog.products).length > 0 ? [] : ['recommend needs products in catalog.yaml']),
  run: (_a, ctx) => ctx.note(recommendNow(ctx)),
};

const buyRecommended: ActionSpec<z.infer<typeof noArg>> = {
  name: 'buy_recommended',
  description: 'send the checkout link of the member’s open recommendation (use with the fact recommend.open)',
  schema: noArg,
  run(_a, ctx) {
    const r = openRecommendation(ctx);
    ctx.note(r ? `buys the recommended ${r.product_id}: ${ctx.services.checkout.sendLink(r.product_id, ctx).note}` : 'no open recommendation');
  },
};

function unsubscribe(ctx: RunContext): string {
  const changed = optOut(ctx.db, ctx.member.id, ctx.now);
  ctx.send({ to: 'dm', text: changed ? '已退订课程推荐，以后不会再给你发课程推荐了。想重新接收，回复「订阅」。' : '你已经退订过课程推荐了。想重新接收，回复「订阅」。' });
  return changed ? 'opted out of recommendations' : 'already opted out';
}

function subscribe(ctx: RunContext): string {
  const changed = optIn(ctx.db, ctx.member.id);
  ctx.send({ to: 'dm', text: changed ? '已重新订阅课程推荐。' : '你正在接收课程推荐，不需要重新订阅。' });
  return changed ? 'opted in to recommendations again' : 'was not opted out';
}

const unsubscribeAction: ActionSpec<z.infer<typeof noArg>> = { name: 'unsubscribe_recommendations', description: 'the member opts out of course recommendations (退订)', schema: noArg, run: (_a, ctx) => ctx.note(unsubscribe(ctx)) };
const subscribeAction: ActionSpec<z.infer<typeof noArg>> = { name: 'subscribe_recommendations', description: 'the member opts back in to course recommendations (订阅)', schema: noArg, run: (_a, ctx) => ctx.note(subscribe(ctx)) };

const MEMBER_ROLES = ['owner', 'instructor', 'assistant', 'member'] as const;
const unsubscribeCommand: CommandSpec = { name: 'unsubscribe', roles: MEMBER_ROLES, usage: '/unsubscribe', description: '退订课程推荐', run: (_args, ctx) => unsubscribe(ctx) };
const subscribeCommand: CommandSpec = { name: 'subscribe', roles: MEMBER_ROLES, usage: '/subscribe', description: '重新订阅课程推荐', run: (_args, ctx) => subscribe(ctx) };

export const recommendFeature: Feature = {
  name: 'recommend',
  config: [recommendSection],
  needs: ['profile', 'checkout'],
  provides: ['recommend'],
  services: ({ config }) => ({
    recommend: {
      rank: (db, memberId, now, services) => rankFor(db, config, services, memberId, now),
      optedOut: (db, memberId) => isOptedOut(db, memberId),
      pageSections: (db, memberId, now, services) => pageSections(db, config, services, memberId, now),
    },
  }),
  actions: [recommendAction, buyRecommended, unsubscribeAction, subscribeAction],
  on: { 'order.paid': (ctx) => forgetCoPurchase(ctx.db), 'order.refunded': (ctx) => forgetCoPurchase(ctx.db) },
  commands: [unsubscribeCommand, subscribeCommand],
  facts: [
    { name: 'recommend.open', type: 'boolean', description: 'the member was sent a recommendation within recommend.open_for and has not bought it', get: (c) => openRecommendation(c) !== undefined },
    { name: 'recommend.opted_out', type: 'boolean', description: 'the member opted out of recommendations (退订)', get: (c) => isOptedOut(c.db, c.member.id) },
  ],
  memberReport: (ctx, member) => {
    const sent = recommendationsOf(ctx.db, member.id);
    const last = sent.at(-1);
    const out = optOutAt(ctx.db, member.id);
    return {
      detail: [
        `课程推荐：已发 ${sent.length} 次${last ? `，最近 ${fmtLocal(Number(last.sent_at), ctx.config.course.timezone)} 《${ctx.config.catalog.products[last.product_id]?.title ?? last.product_id}》` : ''}${out !== undefined ? '，已退订' : ''}`,
      ],
    };
  },
  routes: recommendDashboard,
  privacy: {
    export: (db, memberId) => ({ recommendations: recommendationsOf(db, memberId), recommendations_opted_out_at: optOutAt(db, memberId) ?? null }),
    forget: forgetRecommendations,
  },
};
