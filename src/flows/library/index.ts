/**
 * The course library: members ask for materials (「资料」「课件」, or /materials 速查) and get,
 * privately, the links their stage may have; what only buyers get is counted, not shown, so a
 * trial member learns there is more. Staff get everything. One folder, one section, one action,
 * one command: the whole feature (docs/library.md).
 */
import { z } from 'zod';
import type { Feature } from '../../core/feature.js';
import { effectiveRole } from '../../core/roles.js';
import type { ActionSpec, CommandSpec, RunContext } from '../../core/types.js';
import { librarySection, type LibraryItem } from './config.js';

/** Items whose title or keywords contain the request's word (case-insensitive); none named: all. */
function matching(items: LibraryItem[], words: string): LibraryItem[] {
  const text = words.trim().toLowerCase();
  if (text === '') return items;
  const named = items.filter((i) => [i.title, ...i.keywords].some((k) => text.includes(k.toLowerCase()) || k.toLowerCase().includes(text)));
  return named.length > 0 ? named : items;
}

/** Sends the member the materials they may have, among those the words name; returns the trace note. */
function sendMaterials(ctx: RunContext, words: string): string {
  const { items } = ctx.config.library;
  if (items.length === 0) {
    ctx.send({ to: 'dm', text: '这门课暂时没有整理好的资料，有问题可以直接在群里问老师。' });
    return 'no materials configured';
  }
  const staff = effectiveRole(ctx.db, ctx.config, ctx.trigger.platform, ctx.trigger.userPlatformId) !== 'member';
  const wanted = matching(items, words);
  const mayHave = (i: LibraryItem) => staff || i.for_stages === undefined || i.for_stages.includes(ctx.member.stage);
  const open = wanted.filter(mayHave);
  const locked = wanted.length - open.length;
  const lines = open.length > 0 ? ['课程资料：', ...open.map((i, n) => `${n + 1}. ${i.title}\n${i.link}`)] : ['你现在还不能领取这些资料。'];
  if (locked > 0) lines.push(`另有 ${locked} 份资料报名正式课后可以领取，回复「报名」了解。`);
  ctx.send({ to: 'dm', text: lines.join('\n') });
  return `materials sent privately: ${open.map((i) => i.id).join(', ') || 'none'}${locked > 0 ? ` (${locked} for other stages)` : ''}`;
}

/** `- send_materials:` or `- send_materials: {}` in rules.yaml. */
const noArg = z.union([z.null(), z.strictObject({})]).optional();

const sendMaterialsAction: ActionSpec<z.infer<typeof noArg>> = {
  name: 'send_materials',
  description: 'send the member, privately, the library links their stage may have (only those the message names, if it names some)',
  schema: noArg,
  check: (_arg, ctx) => (ctx.config.library.items.length > 0 ? [] : ['send_materials needs items under `library:` in kequn.yaml']),
  run: (_arg, ctx) => ctx.note(sendMaterials(ctx, ctx.trigger.text)),
};

const materialsCommand: CommandSpec = {
  name: 'materials',
  roles: ['owner', 'instructor', 'assistant', 'member'],
  usage: '/materials [关键词]',
  description: '领取课程资料（私信发链接）',
  run: (args, ctx) => sendMaterials(ctx, args),
};

export const libraryFeature: Feature = {
  name: 'library',
  config: [librarySection],
  actions: [sendMaterialsAction],
  commands: [materialsCommand],
};
