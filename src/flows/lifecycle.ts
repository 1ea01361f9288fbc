import { z } from 'zod';
import { setStage, tagsOf, addTag, removeTag } from '../store/members.js';
import type { Flow } from './types.js';

/**
 * Lifecycle: the member's stage on the growth path and their tags. Every stage move is recorded
 * with its cause (event, rule, actor) so the funnel is computed from the record alone.
 */
export const lifecycleFlow: Flow = {
  name: 'lifecycle',
  facts: [
    { name: 'stage', type: 'string', description: 'current lifecycle stage', get: (c) => c.member.stage },
    { name: 'tags', type: 'strings', description: 'tags the member carries', get: (c) => tagsOf(c.db, c.member.id) },
    { name: 'in_stage_for', type: 'duration', description: 'time since the member entered the current stage', get: (c) => c.now - c.member.stage_since },
    { name: 'member_for', type: 'duration', description: 'time since the bot first saw the member', get: (c) => c.now - c.member.created_at },
  ],
  actions: [
    {
      name: 'set_stage',
      description: 'move the member to a stage (recorded with event and rule)',
      schema: z.string(),
      check: (stage, ctx) => (ctx.config.stageIds.includes(stage) ? [] : [`unknown stage "${stage}" (stages: ${ctx.config.stageIds.join(', ')})`]),
      run(stage, ctx) {
        const r = setStage(ctx.db, { memberId: ctx.member.id, to: stage, eventId: ctx.trigger.eventId, ruleId: ctx.ruleId, actor: 'bot', now: ctx.now });
        ctx.note(r.changed ? `stage ${r.from} → ${stage}` : `stage already ${stage}`);
      },
    },
    {
      name: 'tag',
      description: 'add a tag to the member',
      schema: z.string().min(1).max(64),
      run(tag, ctx) {
        ctx.note(addTag(ctx.db, ctx.member.id, tag, ctx.now) ? `tagged ${tag}` : `already tagged ${tag}`);
      },
    },
    {
      name: 'untag',
      description: 'remove a tag from the member',
      schema: z.string().min(1).max(64),
      run(tag, ctx) {
        ctx.note(removeTag(ctx.db, ctx.member.id, tag) ? `untagged ${tag}` : `had no tag ${tag}`);
      },
    },
  ],
};
