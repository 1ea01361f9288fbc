/**
 * Profile facts for rule conditions (`profile.checkin_rate: { gte: 0.8 }`,
 * `profile.bought: python-vip`). Facts are lazy and cached per event, and each of these runs
 * only the one query its figure needs, so a rule pays for what it names and nothing else.
 */
import type { FactSpec } from '../../core/types.js';
import { activeGroupsOf, tagsOf } from '../../store/members.js';
import { localDate } from '../../util/localtime.js';
import { checkinRate, cohortsOf, homeworkOf, type ProfileDeps } from './profile.js';
import { boughtProducts, paidOrdersOf, referralCounts, topicCounts } from './store.js';

type FactCtx = Parameters<FactSpec['get']>[0];

const deps = (c: FactCtx): ProfileDeps => ({ db: c.db, config: c.config, services: c.services, now: c.now });

export const profileFacts: FactSpec[] = [
  {
    name: 'profile.checkin_rate',
    type: 'number',
    description: 'share of the days since the member first joined on which they checked in, 0..1 (leave days not expected; today once checked in)',
    get: (c) => checkinRate(deps(c), c.member.id).rate,
  },
  { name: 'profile.streak', type: 'number', description: 'current check-in streak in days', get: (c) => c.services.checkins?.streak(c.db, c.member.id, localToday(c)) ?? 0 },
  { name: 'profile.homework_done', type: 'number', description: 'homework weeks the member submitted', get: (c) => homeworkOf(deps(c), c.member.id).done },
  {
    name: 'profile.homework_complete',
    type: 'boolean',
    description: 'the member handed in every homework week the course has (false for a course without homework)',
    get: (c) => {
      const hw = homeworkOf(deps(c), c.member.id);
      return hw.weeks > 0 && hw.done >= hw.weeks;
    },
  },
  { name: 'profile.homework_late', type: 'number', description: 'homework weeks the member submitted late', get: (c) => homeworkOf(deps(c), c.member.id).late },
  {
    name: 'profile.bought',
    type: 'strings',
    description: 'products (catalog.yaml ids) the member bought and was not fully refunded',
    values: { describe: 'a product id of catalog.yaml', known: (config) => Object.keys(config.catalog.products) },
    get: (c) => boughtProducts(c.db, c.member.id),
  },
  { name: 'profile.purchases', type: 'number', description: 'paid orders of the member (refunded ones included)', get: (c) => paidOrdersOf(c.db, c.member.id).length },
  { name: 'profile.topics', type: 'strings', description: 'FAQ entries the member’s questions were answered from', get: (c) => topicCounts(c.db, c.member.id).map((t) => t.entry) },
  { name: 'profile.referrals', type: 'number', description: 'members this member referred', get: (c) => referralCounts(c.db, c.member.id).made },
  { name: 'profile.stage', type: 'string', description: 'the member’s lifecycle stage (as `stage`; for segments)', get: (c) => c.member.stage },
  { name: 'profile.tags', type: 'strings', description: 'the member’s tags (as `tags`; for segments)', get: (c) => tagsOf(c.db, c.member.id) },
  { name: 'profile.inactive_for', type: 'duration', description: 'time since the member last did anything (for segments: who went quiet)', get: (c) => Math.max(0, c.now - Number(c.member.last_seen_at)) },
  {
    name: 'profile.cohorts',
    type: 'strings',
    description: 'the member’s cohort (期) by membership; with none, the cohorts of the groups they are in now',
    values: { describe: 'a cohort id of kequn.yaml `cohorts:`', known: (config) => config.cohorts.map((x) => x.id) },
    get: (c) => cohortsOf(c, c.member.id, () => activeCohorts(c)),
  },
];

function localToday(c: FactCtx): string {
  return localDate(c.now, c.config.course.timezone);
}

function activeCohorts(c: FactCtx): { cohort: string | null }[] {
  return activeGroupsOf(c.db, c.member.id).map((g) => ({ cohort: c.services.cohorts?.ofGroup(g)?.id ?? null }));
}
