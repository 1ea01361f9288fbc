import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { YamlFile } from '../config/yaml-file.js';
import type { ConfigProblem } from '../config/errors.js';
import { isDuration, parseDuration } from '../util/duration.js';

/** A conversation test, as ../shared/SCENARIOS.md defines it. */
export interface Scenario {
  file: string;
  name: string;
  configDir: string | undefined;
  start: number | undefined;
  platform: 'wechat' | 'telegram';
  /** `stranger`: not yet a friend of the WeChat account / never pressed Start on Telegram. */
  /** `in`: groups the user is in already when the bot logs in (WeChat: in the room's member list, no join seen). */
  users: Record<string, { name: string; role?: 'owner' | 'instructor' | 'assistant' | 'member'; stranger: boolean; in: string[] }>;
  steps: { line: number; step: Step }[];
}

export type Target = { kind: 'group'; handle: string } | { kind: 'user'; handle: string };

export type Step =
  | { kind: 'join'; user: string; group: string; via?: string }
  | { kind: 'leave'; user: string; group: string }
  | { kind: 'say'; user: string; group?: string; dm: boolean; text: string }
  | { kind: 'wait'; ms: number; text: string }
  | { kind: 'pay' | 'refund'; user: string; order?: string }
  | { kind: 'expect'; to: Target; contains?: string; matches?: RegExp; count?: number; image?: boolean }
  | { kind: 'expect_stage'; user: string; is: string }
  | { kind: 'expect_tag'; user: string; has: string }
  | { kind: 'expect_none'; to: Target; contains?: string }
  | { kind: 'befriend'; user: string; greeting: string }
  | { kind: 'start'; user: string; payload: string }
  | { kind: 'edit_config'; file: string; replace?: string; with?: string; append?: string; refused?: string }
  | { kind: 'shop_callback'; user: string; product?: string; amount_fen?: number; shop_order_id?: string; bad_signature: boolean; stale: boolean };

const handle = z.string().min(1).max(64);
const target = z
  .string()
  .regex(/^[#@][^\s]+$/, 'a target is "#group" or "@user"')
  .transform((s): Target => (s.startsWith('#') ? { kind: 'group', handle: s.slice(1) } : { kind: 'user', handle: s.slice(1) }));
const regex = z.string().transform((s, ctx) => {
  try {
    return new RegExp(s, 'u');
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(e as Error).message}` });
    return z.NEVER;
  }
});

const stepSchemas = {
  join: z.strictObject({ user: handle, group: handle, via: handle.optional() }),
  leave: z.strictObject({ user: handle, group: handle }),
  say: z
    .strictObject({ user: handle, group: handle.optional(), dm: z.boolean().default(false), text: z.string() })
    .refine((s) => (s.group !== undefined) !== s.dm, { message: 'say needs either `group: NAME` or `dm: true`' }),
  wait: z.union([z.string(), z.number()]).transform(String).refine(isDuration, { message: 'expected a duration such as 30s, 10m, 2h, 1d, 1d2h' }),
  pay: z.strictObject({ user: handle, order: z.string().optional() }),
  refund: z.strictObject({ user: handle, order: z.string().optional() }),
  expect: z.union([
    z.strictObject({ stage: z.strictObject({ user: handle, is: z.string().min(1) }) }),
    z.strictObject({ tag: z.strictObject({ user: handle, has: z.string().min(1) }) }),
    z
      .strictObject({ to: target, contains: z.string().optional(), matches: regex.optional(), count: z.number().int().min(0).optional(), image: z.boolean().optional() })
      .refine((e) => !(e.contains !== undefined && e.matches !== undefined), { message: 'use contains or matches, not both' }),
  ]),
  expect_none: z.strictObject({ to: target, contains: z.string().optional() }),
  befriend: z.strictObject({ user: handle, greeting: z.string().max(500).default('') }),
  start: z.strictObject({ user: handle, payload: z.string().regex(/^[A-Za-z0-9_-]{0,64}$/, 'a /start payload is 0-64 characters of A-Z a-z 0-9 _ -').default('') }),
  // The seller edits a file of the course while kequn runs (a copy: the course folder is never
  // written): the edited course is loaded and takes over as a live reload does.
  edit_config: z
    .strictObject({
      file: z.string().regex(/^[A-Za-z0-9_.-]+\.ya?ml$/, 'a file of the course folder, such as timeline.yaml'),
      replace: z.string().min(1).optional(),
      with: z.string().optional(),
      append: z.string().min(1).optional(),
      /** The edit must be refused with a problem containing this text (the course in force stays). */
      refused: z.string().min(1).optional(),
    })
    .refine((e) => (e.replace !== undefined && e.with !== undefined && e.append === undefined) || (e.replace === undefined && e.with === undefined && e.append !== undefined), {
      message: 'edit_config takes `replace:` with `with:`, or `append:`',
    }),
  /** An external shop's signed callback for the user's pending order (docs/loyalty.md); bad_signature / stale: one that must be refused. */
  shop_callback: z.strictObject({
    user: handle,
    product: z.string().min(1).optional(),
    amount_fen: z.number().int().min(1).optional(),
    shop_order_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).optional(),
    bad_signature: z.boolean().default(false),
    stale: z.boolean().default(false),
  }),
} as const;

const headSchema = z.strictObject({
  name: z.string().min(1),
  config: z.string().optional(),
  start: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO date-time such as 2026-03-02T09:00:00+08:00' })
    .optional(),
  platform: z.enum(['wechat', 'telegram']).default('wechat'),
  users: z
    .record(
      handle,
      z
        .strictObject({
          name: z.string().min(1).optional(),
          role: z.enum(['owner', 'instructor', 'assistant', 'member']).optional(),
          stranger: z.boolean().default(false),
          in: z.array(handle).default([]),
        })
        .nullable(),
    )
    .default({}),
  steps: z.array(z.unknown()).min(1),
});

/** Parses a scenario file; returns problems (file:line:keypath) instead when it is malformed. */
export function parseScenario(path: string): { scenario?: Scenario; problems: ConfigProblem[] } {
  const file = new YamlFile(path);
  if (!file.load()) return { problems: file.problems };
  const head = headSchema.safeParse(file.data ?? {});
  if (!head.success) {
    for (const issue of head.error.issues) {
      const p = issue.path.filter((x): x is string | number => typeof x !== 'symbol');
      if (issue.code === 'unrecognized_keys') for (const k of issue.keys) file.problem([...p, k], `unknown key "${k}"`);
      else file.problem(p, issue.message);
    }
    return { problems: file.problems };
  }
  const steps: Scenario['steps'] = [];
  head.data.steps.forEach((raw, i) => {
    const path = ['steps', i];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.keys(raw).length !== 1) {
      file.problem(path, `a step is a map with one key, the step kind (${Object.keys(stepSchemas).join(', ')})`);
      return;
    }
    const [kind, arg] = Object.entries(raw)[0]!;
    const schema = stepSchemas[kind as keyof typeof stepSchemas];
    if (!schema) {
      file.problem([...path, kind], `unknown step "${kind}" (steps: ${Object.keys(stepSchemas).join(', ')})`);
      return;
    }
    const r = schema.safeParse(arg);
    if (!r.success) {
      for (const issue of r.error.issues) {
        const p = issue.path.filter((x): x is string | number => typeof x !== 'symbol');
        if (issue.code === 'unrecognized_keys') for (const k of issue.keys) file.problem([...path, kind, ...p, k], `unknown key "${k}"`);
        else file.problem([...path, kind, ...p], issue.message);
      }
      return;
    }
    if (kind === 'befriend' && head.data.platform !== 'wechat') file.problem([...path, kind], 'befriend is a WeChat friend request: use start on Telegram');
    else if (kind === 'start' && head.data.platform !== 'telegram') file.problem([...path, kind], 'start is Telegram\'s Start: use befriend on WeChat');
    steps.push({ line: file.lineOf(path), step: toStep(kind as keyof typeof stepSchemas, r.data) });
  });
  if (file.problems.length > 0) return { problems: file.problems };
  const users: Scenario['users'] = {};
  for (const [h, u] of Object.entries(head.data.users)) {
    users[h] = { name: u?.name ?? h, role: u?.role, stranger: u?.stranger ?? false, in: u?.in ?? [] };
    // Telegram gives bots no member list: someone there before the bot is known once they speak.
    if (users[h]!.in.length > 0 && head.data.platform !== 'wechat') file.problem(['users', h, 'in'], 'in: is a WeChat room member list; on Telegram, let the user say something in the group instead');
  }
  if (file.problems.length > 0) return { problems: file.problems };
  return {
    problems: [],
    scenario: {
      file: file.display,
      name: head.data.name,
      configDir: head.data.config !== undefined ? resolve(dirname(path), head.data.config) : undefined,
      start: head.data.start !== undefined ? Date.parse(head.data.start) : undefined,
      platform: head.data.platform,
      users,
      steps,
    },
  };
}

function toStep(kind: keyof typeof stepSchemas, data: unknown): Step {
  const d = data as Record<string, unknown>;
  switch (kind) {
    case 'wait':
      return { kind: 'wait', ms: parseDuration(data as string), text: data as string };
    case 'say':
      return { kind: 'say', user: d.user as string, group: d.group as string | undefined, dm: d.dm as boolean, text: d.text as string };
    case 'expect':
      if ('stage' in d) return { kind: 'expect_stage', ...(d.stage as { user: string; is: string }) };
      if ('tag' in d) return { kind: 'expect_tag', ...(d.tag as { user: string; has: string }) };
      return { kind: 'expect', ...(d as { to: Target; contains?: string; matches?: RegExp; count?: number; image?: boolean }) };
    default:
      return { kind, ...d } as Step;
  }
}
