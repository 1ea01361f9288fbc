import { z } from 'zod';
import { planStandingJob } from './schedule/standing.js';
import { heldNotices, lastNoticeSentAt, markNoticesSent, recordNotice, type NoticeRow } from '../store/notices.js';
import type { RunContext } from './types.js';
import type { Feature } from './feature.js';

/**
 * A notice the bot gives about something that can happen many times in a row: a question
 * escalated to the staff, a warning or a removal announced in a group. Whatever a flood makes
 * happen, a chat hears about it at most once per `every` per topic: the first notice goes out at
 * once, the ones after it within `every` are held and go out together as one message when the
 * interval ends (the `notices.flush` job).
 */
export interface Notice {
  chat: { kind: 'group' | 'dm'; id: string };
  /** Whom it is about (forgotten with them; docs/privacy.md). */
  memberId: string | null;
  /** Merged with the held notices of the same chat and topic only. */
  topic: string;
  /** The message when it goes alone. */
  text: string;
  /** Its line in a merged message. */
  line: string;
  /** What it is about, listed in the merged header (`Q12`). */
  ref?: string;
  /** The merged message's first line: `{count}` notices, `{code}` their refs (`Q12–Q16`). */
  head: string;
  /** The merged message's last line (how to act on them). */
  foot?: string;
  /** The merge interval, ms. */
  every: number;
}

/** Lines of a merged message beyond this are counted, not listed. */
const MAX_LINES = 20;

/** Sends the notice now, or holds it for the merged message of its chat; in the caller's transaction. */
export function sendNotice(ctx: RunContext, n: Notice): 'sent' | 'held' {
  const { db, config, now, trigger } = ctx;
  const platform = trigger.platform;
  const last = lastNoticeSentAt(db, platform, n.chat.id, n.topic);
  const hold = (last !== undefined && now - last < n.every) || heldNotices(db, platform, n.chat.id, n.topic).length > 0;
  const groupId = n.chat.kind === 'group' ? (config.groupOf(platform, n.chat.id) ?? null) : null;
  recordNotice(db, {
    platform,
    chat_kind: n.chat.kind,
    chat_id: n.chat.id,
    group_id: groupId,
    member_id: n.memberId,
    topic: n.topic,
    text: n.text,
    line: n.line,
    ref: n.ref ?? null,
    head: n.head,
    foot: n.foot ?? '',
    created_at: now,
    sent_at: hold ? null : now,
  });
  if (!hold) {
    ctx.send({ to: 'chat', chat: n.chat, text: n.text, priority: 'bulk' });
    return 'sent';
  }
  const payload: FlushPayload = { platform, chatKind: n.chat.kind, chatId: n.chat.id, groupId, topic: n.topic };
  planStandingJob(db, { kind: 'notices.flush', dueAt: Math.max(now, (last ?? now) + n.every), payload, key: `${platform}:${n.chat.id}:${n.topic}` }, now);
  return 'held';
}

const flushPayload = z.object({
  platform: z.enum(['wechat', 'telegram']),
  chatKind: z.enum(['group', 'dm']),
  chatId: z.string(),
  groupId: z.string().nullable(),
  topic: z.string(),
});
type FlushPayload = z.infer<typeof flushPayload>;

/** One message for several held notices: the header, a line each (at most MAX_LINES), the footer. */
export function mergedText(items: readonly Pick<NoticeRow, 'line' | 'ref' | 'head' | 'foot'>[]): string {
  const last = items[items.length - 1]!;
  const refs = items.map((i) => i.ref).filter((r): r is string => r !== null);
  const lines = items.slice(0, MAX_LINES).map((i) => i.line);
  if (items.length > MAX_LINES) lines.push(`……另有 ${items.length - MAX_LINES} 条`);
  const head = last.head.replaceAll('{count}', String(items.length)).replaceAll('{code}', formatRefs(refs));
  return [head, ...lines, ...(last.foot ? [last.foot] : [])].join('\n');
}

/** `Q12–Q16` for a run of consecutive codes, else `Q12、Q14、Q17` (ten at most, then 等). */
export function formatRefs(refs: readonly string[]): string {
  const parsed = refs.map((r) => /^(\D*)(\d+)$/.exec(r));
  if (refs.length > 2 && parsed.every((m) => m !== null && m[1] === parsed[0]![1])) {
    const nums = parsed.map((m) => Number(m![2]));
    if (nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1)) return `${refs[0]}–${refs[refs.length - 1]}`;
  }
  return refs.length > 10 ? `${refs.slice(0, 10).join('、')}等` : refs.join('、');
}

/**
 * The merge of notices: `notices.flush` sends what a chat's topic held as one message (or the
 * notice's own text when one was held).
 */
export const noticesFlow: Feature = {
  name: 'notices',
  jobs: [
    {
      kind: 'notices',
      run: () => 'skipped: notices are flushed by member-less jobs only',
      runSystem(payload, ctx) {
        const p = flushPayload.parse(payload);
        const items = heldNotices(ctx.db, p.platform, p.chatId, p.topic);
        if (items.length === 0) return 'nothing held';
        const text = items.length === 1 ? items[0]!.text : mergedText(items);
        ctx.send({ platform: p.platform, chat: { kind: p.chatKind, id: p.chatId }, text, memberId: null, groupId: p.groupId, priority: 'bulk' });
        markNoticesSent(ctx.db, items.map((i) => i.id), ctx.now);
        return `${items.length} ${p.topic} notice(s) to ${p.chatId} sent as one message`;
      },
    },
  ],
};
