import { z } from 'zod';
import { didYouMean } from '../../util/suggest.js';
import type { ActionSpec } from '../types.js';
import type { Feature } from '../feature.js';

/** `reply: welcome_group` (a template name) or `reply: { text: "literal {name}" }`. */
const messageArg = z.union([z.string().min(1), z.strictObject({ template: z.string().min(1) }), z.strictObject({ text: z.string().min(1) })]);
type MessageArg = z.infer<typeof messageArg>;

function checkMessage(arg: MessageArg, templates: Record<string, string>, knownVars: Set<string>): string[] {
  if (typeof arg === 'string' || 'template' in arg) {
    const name = typeof arg === 'string' ? arg : arg.template;
    return name in templates ? [] : [`unknown template "${name}"${didYouMean(name, Object.keys(templates))} (templates: ${Object.keys(templates).join(', ')})`];
  }
  const unknown = [...arg.text.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!).filter((v) => !knownVars.has(v));
  return unknown.map((v) => `unknown template variable {${v}}${didYouMean(v, knownVars)}`);
}

function textOf(arg: MessageArg, render: (t: string) => string, templates: Record<string, string>): string {
  if (typeof arg === 'string') return render(templates[arg]!);
  if ('template' in arg) return render(templates[arg.template]!);
  return render(arg.text);
}

function messageAction(name: 'reply' | 'dm', description: string): ActionSpec<MessageArg> {
  return {
    name,
    description,
    schema: messageArg,
    check: (arg, ctx) => checkMessage(arg, ctx.config.templates, ctx.config.templateVars),
    run(arg, ctx) {
      const text = textOf(arg, (t) => ctx.render(t), ctx.config.templates);
      ctx.send({ to: name, text });
      ctx.note(`${name}: ${text.slice(0, 40)}${text.length > 40 ? '…' : ''}`);
    },
  };
}

/** Welcome and other plain messages: replies where the event happened, and private messages. */
export const messagingFlow: Feature = {
  name: 'messaging',
  actions: [
    messageAction('reply', 'send a message where the event happened (the group, or the private chat)'),
    messageAction('dm', 'send the member a private message'),
  ],
};
