/**
 * The posters worker: draws what /海报 asked for, outside the event's transaction (drawing is
 * asynchronous and takes a few hundred milliseconds), then queues the photo through the one
 * delivery policy (dry run, daily budget, pacing and quiet hours as for text) and marks the
 * request done in the same transaction.
 */
import type { Platform } from '../../bot/events.js';
import { budgetFor } from '../../bot/pacing.js';
import { deliver } from '../../core/engine/delivery.js';
import type { Worker, WorkerContext } from '../../core/feature.js';
import { getMember } from '../../store/members.js';
import { savedBotUsername } from '../../store/telegram.js';
import { cachedPoster, posterContent, posterDir, posterLink, posterStyle, removeMemoryPosterDir } from './poster.js';
import { claimPosterRequests, finishPosterRequest, requeueDrawing, type PosterRequest } from './store.js';

/** Requests drawn per pass: the rest wait for the next second (drawing uses the CPU the bot shares). */
const PER_PASS = 3;

export function posterWorker(ctx: WorkerContext): Worker {
  const { db, log } = ctx;

  async function draw(r: PosterRequest): Promise<void> {
    const config = ctx.config();
    const member = getMember(db, r.member_id);
    const code = member ? ctx.services().referral.codeFor(db, config, member.id, ctx.clock.now()) : null;
    if (!member || !code) {
      finishPosterRequest(db, r.id, { status: 'failed', now: ctx.clock.now(), error: member ? 'the member has no referral code' : 'member not found' });
      return;
    }
    const link = posterLink(config, code, r.platform, config.privateChannel.telegram.username ?? savedBotUsername(db));
    const content = posterContent(config, { id: member.id, name: member.display_name, code }, link);
    let image: string | null = null;
    let error: string | null = null;
    try {
      const { path, drawn } = await cachedPoster(posterDir(db, config), member.id, content, posterStyle(config));
      image = path;
      log.info({ member: member.id, path, drawn }, drawn ? 'poster drawn' : 'poster from the cache');
    } catch (e) {
      error = (e as Error).message.slice(0, 300);
      log.error({ member: member.id, err: error }, 'poster: drawing failed');
    }
    const now = ctx.clock.now();
    db.transaction(() => {
      const sent = deliver(db, config, log, {
        platform: r.platform as Platform,
        chat: { kind: 'dm', id: r.chat_id },
        memberId: member.id,
        groupId: null,
        settingsGroup: r.settings_group,
        text: image ? '' : '海报生成失败了，请稍后再试一次，或者先把推荐码发给朋友：' + code,
        ...(image ? { image } : {}),
        priority: 'reply',
        eventId: r.event_id,
        ruleId: r.rule_id ?? 'poster',
        now,
        budget: () => budgetFor(db, config, r.platform, now),
      });
      finishPosterRequest(db, r.id, { status: image ? 'done' : 'failed', now, outboxId: sent.id || null, error });
    })();
  }

  return {
    recover: () => void requeueDrawing(db),
    stop: () => removeMemoryPosterDir(db),
    async dispatch() {
      const requests = claimPosterRequests(db, PER_PASS);
      for (const r of requests) await draw(r);
      if (requests.length > 0) ctx.kick();
      return requests.length;
    },
  };
}
