/**
 * Groups that already exist (docs/existing-groups.md): when the WeChat account logs in, kequn reads
 * the member list of each course group and records the people in it as members, without a welcome,
 * a trial lesson or any join rule, in the stage the config gives existing members; `/sync` (staff)
 * reads the lists again and answers with the counts. Telegram gives bots no member list: there,
 * whoever speaks or joins is recorded (the core's presence and join handling).
 *
 * Its own feature rather than part of the lifecycle: the lifecycle moves members between stages
 * on events, while this reads a platform's lists beside the engine (a worker) and only sets where
 * people start; nothing of the lifecycle runs for an import (no stage.entered hooks: no invites,
 * no paid-group messages for someone who is there already).
 */
import { z } from 'zod';
import type { Feature } from '../../core/feature.js';
import type { CommandSpec, SystemJobContext } from '../../core/types.js';
import type { Platform } from '../../bot/events.js';
import { importGroupKeys, importSection } from './config.js';
import { describeCounts, type ImportCounts } from './roster.js';
import { importRowOf, isImported, requestImportRun } from './store.js';
import { importWorker } from './worker.js';
import { joinAfterImport } from './raced-join.js';

const syncCommand: CommandSpec = {
  name: 'sync',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/sync',
  description: '重新读取各课程群的成员名单，记录已在群里的人（不发欢迎）',
  run(_args, ctx) {
    const id = requestImportRun(ctx.db, { platform: ctx.trigger.platform, cause: 'sync', reply: ctx.trigger.replyTo, now: ctx.now });
    return `member lists to be read (run ${id}); the counts follow`;
  },
};

const reportPayload = z.object({
  platform: z.enum(['wechat', 'telegram']),
  chat: z.object({ kind: z.enum(['group', 'dm']), id: z.string() }),
  counts: z.custom<ImportCounts>((v) => typeof v === 'object' && v !== null),
});

function runReport(payload: unknown, ctx: SystemJobContext): string {
  const p = reportPayload.parse(payload);
  const groupId = p.chat.kind === 'group' ? (ctx.config.groupOf(p.platform as Platform, p.chat.id) ?? null) : null;
  ctx.send({ platform: p.platform, chat: p.chat, text: describeCounts(p.counts), memberId: null, groupId });
  return `sync counts sent to ${p.chat.kind} ${p.chat.id}`;
}

export const importFeature: Feature = {
  name: 'import',
  config: [importSection],
  groupKeys: importGroupKeys,
  commands: [syncCommand],
  jobs: [{ kind: 'import', run: () => 'skipped: import jobs are not planned per member', runSystem: runReport }],
  workers: (ctx) => [importWorker(ctx)],
  // A join the member list got ahead of (read at login a moment after it happened): a newcomer's.
  on: { 'member.joined': joinAfterImport },
  // The import row holds no personal data (a group, a stage, a time): exported, kept on forget.
  privacy: { export: (db, memberId) => ({ imported: importRowOf(db, memberId) ?? null }) },
  memberReport: (ctx, member) => (isImported(ctx.db, member.id) ? { detail: ['来源：kequn 启用前已在群里（导入，未发欢迎）'] } : {}),
};
