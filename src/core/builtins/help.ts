import { identitiesOf } from '../../store/members.js';
import type { CommandSpec } from '../types.js';
import type { Feature } from '../feature.js';
import { effectiveRole } from '../roles.js';

/**
 * Commands about commands: `/help` lists what the sender may use, `/whoami` shows how the bot
 * sees the sender (role by platform id, member key, stage). Both answer privately.
 */
export function commandsFlow(commands: () => Iterable<CommandSpec>): Feature {
  const help: CommandSpec = {
    name: 'help',
    roles: ['owner', 'instructor', 'assistant', 'member'],
    usage: '/help',
    description: '列出你可以使用的命令',
    run(_args, ctx) {
      const role = effectiveRole(ctx.db, ctx.config, ctx.trigger.platform, ctx.trigger.userPlatformId);
      const mine = [...commands()].filter((c) => c.roles.includes(role));
      ctx.send({ to: 'dm', text: ['你可以使用的命令：', ...mine.map((c) => `${c.usage} — ${c.description}`)].join('\n') });
      return `listed ${mine.length} commands for ${role}`;
    },
  };
  const whoami: CommandSpec = {
    name: 'whoami',
    roles: ['owner', 'instructor', 'assistant', 'member'],
    usage: '/whoami',
    description: '看看机器人怎么认识你（角色、编号、阶段）',
    run(_args, ctx) {
      const role = effectiveRole(ctx.db, ctx.config, ctx.trigger.platform, ctx.trigger.userPlatformId);
      const ids = identitiesOf(ctx.db, ctx.member.id).map((i) => `${i.platform}:${i.platform_id}`).join(', ');
      ctx.send({ to: 'dm', text: `${ctx.member.display_name}\n角色：${role}\n成员编号：${ctx.member.id}\n平台账号：${ids}\n阶段：${ctx.member.stage}` });
      return `whoami: ${role}`;
    },
  };
  return { name: 'commands', commands: [help, whoami] };
}
