/**
 * Referral posters (海报): a member's personal poster, the course's title and selling line, their
 * name, their referral code and a QR code of their invite link, drawn on the server in Chinese
 * type and sent privately as an image (docs/posters.md). `/poster`, or the rule action
 * `send_poster` (the demo's rule answers 「我的海报」 and /海报), records a request; the worker
 * draws it (cached per member and content) and queues the photo.
 */
import { z } from 'zod';
import type { Feature } from '../../core/feature.js';
import type { ActionSpec, CommandSpec, RunContext } from '../../core/types.js';
import { localDayStart } from '../../util/localtime.js';
import { checkPosterValues, posterSection } from './config.js';
import { countPosterRequestsSince, finishPosterRequest, forgetPosterRequests, hasOpenPosterRequest, insertPosterRequest, posterRequestsOf } from './store.js';
import { forgetPosterFiles } from './forget.js';
import { posterWorker } from './worker.js';

/**
 * What /海报 does in the event's transaction: checks that the member may have a poster (a
 * referral code, issued now when their stage qualifies), the daily limit, and records the request
 * the worker draws; the caption goes at once, the image follows. Returns the trace's note.
 */
function requestPoster(ctx: RunContext): string {
  const { db, config, member, trigger, now } = ctx;
  if (!config.referral) {
    ctx.send({ to: 'dm', text: '本课程没有开启推荐，所以还没有推荐海报。' });
    return 'poster: referrals off';
  }
  const code = ctx.services.referral.codeFor(db, config, member.id, now);
  if (!code) {
    ctx.send({ to: 'dm', text: ctx.render(config.templates.referral_not_yet!) });
    return `poster: no referral code (stage ${member.stage} is not in ${config.referral.issue_at.join('/')})`;
  }
  if (hasOpenPosterRequest(db, member.id)) return 'poster: already being drawn';
  const limit = config.poster.daily_limit;
  const today = countPosterRequestsSince(db, member.id, localDayStart(now, config.course.timezone));
  if (today >= limit) {
    // Told once, then silent: a member repeating /海报 gets no reply storm.
    if (today === limit) {
      const id = insertPosterRequest(db, { memberId: member.id, platform: trigger.platform, chatId: trigger.userPlatformId, settingsGroup: trigger.group, eventId: trigger.eventId, ruleId: ctx.ruleId, now });
      finishPosterRequest(db, id, { status: 'failed', now, error: 'daily limit' });
      ctx.send({ to: 'dm', text: `今天的海报已经发过 ${limit} 次了，明天再来吧。之前发给你的海报一直有效。` });
    }
    return `poster: daily limit of ${limit} reached`;
  }
  insertPosterRequest(db, { memberId: member.id, platform: trigger.platform, chatId: trigger.userPlatformId, settingsGroup: trigger.group, eventId: trigger.eventId, ruleId: ctx.ruleId, now });
  ctx.send({ to: 'dm', text: ctx.render(config.poster.caption, { referral_code: code }) });
  return `poster requested for code ${code}`;
}

const noArg = z.strictObject({}).default({});

const sendPoster: ActionSpec<z.infer<typeof noArg>> = {
  name: 'send_poster',
  description: "send the member their referral poster privately (an image: course, name, referral code, QR code); members without a code are told how to get one",
  schema: noArg,
  check: (_arg, ctx) => (ctx.config.referral ? (ctx.config.templates.referral_not_yet ? [] : ['needs a "referral_not_yet" template in templates.yaml']) : ['referrals are not configured: add a `referral:` section to kequn.yaml (docs/referrals.md)']),
  run: (_arg, ctx) => ctx.note(requestPoster(ctx)),
};

const posterCommand: CommandSpec = {
  name: 'poster',
  roles: ['owner', 'instructor', 'assistant', 'member'],
  usage: '/poster',
  description: '我的推荐海报（私信发图片）',
  run: (_args, ctx) => requestPoster(ctx),
};

export const postersFeature: Feature = {
  name: 'posters',
  needs: ['referral'],
  config: [posterSection],
  checkCourse: checkPosterValues,
  actions: [sendPoster],
  commands: [posterCommand],
  workers: (ctx) => [posterWorker(ctx)],
  privacy: {
    export: (db, memberId) => ({ poster_requests: posterRequestsOf(db, memberId) }),
    forget: (db, memberId, config) => {
      forgetPosterRequests(db, memberId);
      forgetPosterFiles(db, config, memberId);
    },
  },
};
