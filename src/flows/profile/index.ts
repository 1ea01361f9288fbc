/**
 * Member profiles (画像): what kequn knows of a member, computed from what it already records
 * (stage history, tags, groups and cohorts, check-ins, homework, questions, orders, referrals).
 * Shown by `kequn member show` and on `/dashboard/members/:id`; usable in rules as `profile.*`
 * facts; offered to other features as the `profile` service (docs/recommendations.md).
 */
import type { Hono } from 'hono';
import type { Feature } from '../../core/feature.js';
import type { WebContext } from '../../web/context.js';
import type { ProfileService } from './contracts.js';
import { profileFacts } from './facts.js';
import { computeProfile, homeworkOf } from './profile.js';
import { boughtProducts, topicCounts } from './store.js';
import { createMemberPage } from './web.js';
import { profileSection } from './config.js';
import { checkSegments, segmentMembers } from './segments.js';

declare module '../../core/types.js' {
  interface Services {
    profile: ProfileService;
  }
}

export const profileFeature: Feature = {
  name: 'profile',
  provides: ['profile'],
  uses: ['cohorts', 'checkins', 'recommend'],
  config: [profileSection],
  checkCourse: checkSegments,
  facts: profileFacts,
  services: ({ config }) => ({
    profile: {
      of: (db, memberId, now, services) => computeProfile({ db, config, services, now }, memberId),
      bought: boughtProducts,
      topics: topicCounts,
      homework: (db, memberId) => homeworkOf({ db, config, services: {}, now: 0 }, memberId),
      segmentNames: () => Object.keys(config.profile.segments),
      segmentMembers: (db, name, platform, now, services) => segmentMembers(db, config, services, name, platform, now),
    },
  }),
  routes: (app: Hono, web: WebContext) => {
    app.route('/', createMemberPage(web));
  },
};
