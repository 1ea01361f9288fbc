import { existsSync, statSync } from 'node:fs';
import { resolve, join, isAbsolute } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';
import { YamlFile } from './yaml-file.js';
import { didYouMean, knownKeys } from './suggest.js';
import { readNamedFile } from './named-file.js';
import { faqSchema, mainSchema, templatesSchema, rulesSchema, type MainConfig, type RawRule, type ReferralConfig } from './schema.js';
import { blockedStages, checkLifecycle } from '../flows/lifecycle/check.js';
import { compileRules, type CompiledRule } from '../core/rules/compile.js';
import { registry as defaultRegistry, type Registry } from '../core/registry.js';
import type { Platform } from '../bot/events.js';
import { resolveCheckin, resolveHomework, type CheckinConfig, type HomeworkConfig } from '../flows/checkin/config.js';
import { catalogSchema } from '../flows/orders/catalog-schema.js';
import { loadCatalog, emptyCatalog, type Catalog } from '../flows/orders/catalog.js';
import { isPostgresUrl } from '../store/url.js';

/** Variables every template may use. */
export const TEMPLATE_VARS = [
  'name',
  'group',
  'course',
  'bot',
  'stage',
  'lesson_n',
  'lesson_title',
  'lesson_body',
  'question',
  'answer',
  'source',
  'code',
  'teacher',
  // check-ins and homework
  'streak',
  'total',
  'date',
  'days',
  'list',
  'count',
  'names',
  'week',
  'title',
  'description',
  'due',
  'late',
  'left',
  'comment',
  'referral_code',
  'invite_link',
  'referrals_joined',
  'referrals_paid',
  'rewards_yuan',
  'discount_yuan',
  'referrer',
  'referred',
  'reason',
  'reward',
  // orders (docs/payments.md)
  'product',
  'price',
  'link',
  'expires',
  'order',
  'amount',
  'paid_group',
  'refund',
  'warnings',
  'limit',
  // the private channel (docs/wechat.md, docs/telegram.md)
  'open_channel',
  'start_link',
] as const;

export type Role = 'owner' | 'instructor' | 'assistant' | 'member';

/**
 * A loaded, validated course configuration: what `kequn start`, `kequn test` and `kequn check`
 * run on. Everything is resolved at load (durations in ms, times in minutes, lesson bodies read,
 * rules compiled), so nothing is parsed on the hot path.
 */
export interface CourseConfig {
  dir: string;
  course: MainConfig['course'];
  dataPath: string;
  web: MainConfig['web'];
  groups: MainConfig['groups'];
  staff: MainConfig['staff'];
  stageIds: string[];
  stages: MainConfig['stages'];
  /** Stage moves caused by payments. */
  lifecycle: MainConfig['lifecycle'];
  /** Referrals (null: off), with `blocked_stages` resolved. */
  referral: (ReferralConfig & { blocked_stages: string[] }) | null;
  lessons: { n: number; title: string; file: string; body: string }[];
  sequences: MainConfig['sequences'];
  quietHours: MainConfig['quiet_hours'];
  outbox: MainConfig['outbox'];
  scheduler: MainConfig['scheduler'];
  dryRun: boolean;
  /** The private channel: held-message window, WeChat friend-request policy, the newcomer's hint. */
  privateChannel: MainConfig['private_channel'];
  qa: MainConfig['qa'];
  /** Check-ins (打卡), when kequn.yaml has a `checkin:` section. */
  checkin: CheckinConfig | null;
  /** Homework, when kequn.yaml has a `homework:` section. */
  homework: HomeworkConfig | null;
  announce: MainConfig['announce'];
  moderation: MainConfig['moderation'];
  /** FAQ entries from faq.yaml (empty when the file does not exist). */
  faq: { id: string; question: string; alternates: string[]; answer: string }[];
  templates: Record<string, string>;
  templateVars: Set<string>;
  rawRules: RawRule[];
  ruleIds: Set<string>;
  rules: CompiledRule[];
  /** Products, coupons and payment settings from catalog.yaml (empty when the file does not exist). */
  catalog: Catalog;
  /** Role of a platform id: staff by platform id from config, never by display name. */
  roleOf(platform: Platform, platformId: string): Role;
  /** Group handle for a platform chat id, or undefined for groups not in the course. */
  groupOf(platform: Platform, platformId: string): string | undefined;
}

export const CONFIG_FILES = { main: 'kequn.yaml', templates: 'templates.yaml', rules: 'rules.yaml', faq: 'faq.yaml', catalog: 'catalog.yaml' } as const;

/**
 * Loads `dir` (kequn.yaml, templates.yaml, rules.yaml, lesson files) and throws a ConfigError
 * listing every problem with file:line and key path.
 *
 * @example const config = loadConfig('config');
 */
export function loadConfig(dir: string, opts: { registry?: Registry; env?: NodeJS.ProcessEnv } = {}): CourseConfig {
  const reg = opts.registry ?? defaultRegistry;
  const env = opts.env ?? process.env;
  const absDir = resolve(dir);
  if (!existsSync(absDir) || !statSync(absDir).isDirectory()) {
    throw new ConfigError([{ file: dir, line: 1, keyPath: '', message: 'configuration folder not found' }]);
  }
  const files = {
    main: new YamlFile(join(absDir, CONFIG_FILES.main)),
    templates: new YamlFile(join(absDir, CONFIG_FILES.templates)),
    rules: new YamlFile(join(absDir, CONFIG_FILES.rules)),
    faq: new YamlFile(join(absDir, CONFIG_FILES.faq)),
    catalog: new YamlFile(join(absDir, CONFIG_FILES.catalog)),
  };
  const problems: ConfigProblem[] = [];
  const main = parseWith(files.main, mainSchema);
  const templates = parseWith(files.templates, templatesSchema);
  const rawRules = parseWith(files.rules, rulesSchema);
  // The FAQ is optional: a course without one simply has nothing to answer from.
  const faq = existsSync(files.faq.path) ? parseWith(files.faq, faqSchema) : { entries: [] };
  // The catalog is optional too: a course that sells nothing has no catalog.yaml.
  const catalogFile = existsSync(files.catalog.path) ? parseWith(files.catalog, catalogSchema) : undefined;
  const collect = () =>
    problems.push(...files.main.problems, ...files.templates.problems, ...files.rules.problems, ...files.faq.problems, ...files.catalog.problems);
  if (!main || !templates || !rawRules || !faq || (existsSync(files.catalog.path) && !catalogFile)) {
    collect();
    throw new ConfigError(problems);
  }

  const templateVars = new Set<string>(TEMPLATE_VARS);
  for (const [name, text] of Object.entries(templates)) {
    for (const v of templateVariables(text)) {
      if (!templateVars.has(v)) files.templates.problem([name], `unknown template variable {${v}}${didYouMean(v, TEMPLATE_VARS)} (variables: ${TEMPLATE_VARS.join(', ')})`);
    }
  }

  const stageIds = main.stages.map((s) => s.id);
  checkUnique(files.main, stageIds, (i) => ['stages', i, 'id'], 'stage');

  checkLifecycle(main, templates, files.main, files.templates);

  const lessons = main.lessons.map((l, i) => {
    // Inside the config folder once symlinks are resolved, or it is never read (src/config/named-file.ts).
    const f = readNamedFile(absDir, l.file);
    if (!f.ok) files.main.problem(['lessons', i, 'file'], `lesson ${f.message}`);
    return { ...l, body: f.ok ? f.text.trim() : '' };
  });
  checkUnique(files.main, lessons.map((l) => String(l.n)), (i) => ['lessons', i, 'n'], 'lesson number');

  for (const [name, seq] of Object.entries(main.sequences)) {
    seq.while_stage.forEach((s, i) => {
      if (!stageIds.includes(s)) files.main.problem(['sequences', name, 'while_stage', i], `unknown stage "${s}"${didYouMean(s, stageIds)}`);
    });
    seq.steps.forEach((step, i) => {
      const path = ['sequences', name, 'steps', i];
      if ((step.lesson === undefined) === (step.template === undefined)) files.main.problem(path, 'a step sends either `lesson: N` or `template: NAME`');
      if (step.lesson !== undefined && !lessons.some((l) => l.n === step.lesson)) files.main.problem([...path, 'lesson'], `no lesson ${step.lesson}`);
      if (step.lesson !== undefined && !('lesson' in templates)) files.main.problem([...path, 'lesson'], 'lesson steps need a "lesson" template');
      if (step.template !== undefined && !(step.template in templates)) files.main.problem([...path, 'template'], `unknown template "${step.template}"${didYouMean(step.template!, Object.keys(templates))}`);
    });
  }

  checkPrivateChannel(main, files.main);

  const platformIds = new Map<string, string>();
  for (const [handle, g] of Object.entries(main.groups)) {
    for (const platform of ['wechat', 'telegram'] as const) {
      const id = g[platform];
      if (!id) continue;
      const key = `${platform}:${id}`;
      if (platformIds.has(key)) files.main.problem(['groups', handle, platform], `${platform} id ${id} is also used by group ${platformIds.get(key)}`);
      platformIds.set(key, handle);
    }
  }
  const roles = new Map<string, Role>();
  main.staff.forEach((s, i) => {
    if (!s.wechat && !s.telegram) files.main.problem(['staff', i], 'a staff entry needs a wechat and/or telegram platform id');
    for (const platform of ['wechat', 'telegram'] as const) {
      const id = s[platform];
      if (id) roles.set(`${platform}:${id}`, s.role);
    }
  });

  checkUnique(files.faq, faq.entries.map((e) => e.id), (i) => ['entries', i, 'id'], 'FAQ id');
  const escalateTo = main.qa.escalate_to;
  if (escalateTo !== 'instructors' && main.groups[escalateTo]?.kind !== 'staff') {
    files.main.problem(['qa', 'escalate_to'], `"${escalateTo}" is neither "instructors" nor a group of kind staff`);
  }

  const checkin = resolveCheckin(main, templates, files.main);
  const homework = resolveHomework(main, templates, files.main);

  // DATABASE_URL (PostgreSQL) wins over the SQLite file (KEQUN_DATA, then `data:`).
  const databaseUrl = env.DATABASE_URL?.trim();
  if (databaseUrl && !isPostgresUrl(databaseUrl)) {
    files.main.problem(['data'], 'DATABASE_URL is set but is not a postgres:// or postgresql:// URL (unset it to use the SQLite file)');
  }
  const dataPath = databaseUrl && isPostgresUrl(databaseUrl) ? databaseUrl : env.KEQUN_DATA ? resolve(env.KEQUN_DATA) : isAbsolute(main.data) ? main.data : resolve(absDir, main.data);

  const config: CourseConfig = {
    dir: absDir,
    course: main.course,
    dataPath,
    web: main.web,
    groups: main.groups,
    staff: main.staff,
    stageIds,
    stages: main.stages,
    lifecycle: main.lifecycle,
    referral: main.referral ? { ...main.referral, blocked_stages: blockedStages(main) } : null,
    lessons,
    sequences: main.sequences,
    quietHours: main.quiet_hours,
    outbox: main.outbox,
    scheduler: main.scheduler,
    dryRun: main.dry_run,
    privateChannel: main.private_channel,
    qa: main.qa,
    checkin,
    homework,
    announce: main.announce,
    moderation: main.moderation,
    faq: faq.entries.map((e) => ({ id: e.id, question: e.q, alternates: e.also, answer: e.a })),
    templates,
    templateVars,
    rawRules: rawRules.rules,
    ruleIds: new Set(rawRules.rules.map((r) => r.id)),
    rules: [],
    catalog: catalogFile ? loadCatalog(catalogFile, { file: files.catalog, dir: absDir, groups: main.groups, web: main.web, stageIds, env }) : emptyCatalog(),
    ...platformLookups(roles, platformIds, main.groups),
  };
  checkUnique(files.rules, rawRules.rules.map((r) => r.id), (i) => ['rules', i, 'id'], 'rule id');
  config.rules = compileRules(rawRules.rules, config, reg, (path, message) => files.rules.problem(path, message));

  collect();
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The hints' variables are the few known where they are rendered (any template, any platform). */
const HINT_VARS: Record<string, string[]> = { add_hint: ['bot', 'course', 'name', 'group'], start_hint: ['bot', 'course', 'name', 'group', 'start_link'] };

function checkPrivateChannel(main: MainConfig, file: YamlFile): void {
  const pc = main.private_channel;
  if (pc.wechat.delay.min > pc.wechat.delay.max) file.problem(['private_channel', 'wechat', 'delay', 'min'], 'delay.min is longer than delay.max');
  const hints = [
    ['wechat', 'add_hint', pc.wechat.add_hint],
    ['telegram', 'start_hint', pc.telegram.start_hint],
  ] as const;
  for (const [platform, key, text] of hints) {
    for (const v of templateVariables(text)) {
      if (!HINT_VARS[key]!.includes(v)) file.problem(['private_channel', platform, key], `unknown variable {${v}} (here: ${HINT_VARS[key]!.join(', ')})`);
    }
  }
  if (pc.wechat.accept !== 'everyone' && pc.wechat.accept !== 'none' && pc.wechat.accept.includes('keyword') && pc.wechat.keywords.length === 0 && !pc.wechat.referral_codes) {
    file.problem(['private_channel', 'wechat', 'keywords'], 'accept: keyword needs at least one keyword (or referral_codes: true)');
  }
}

/**
 * `roleOf` and `groupOf`, made outside loadConfig: a closure created there would keep loadConfig's
 * whole scope alive with the config (V8 shares one context per scope), and with it every file's
 * YAML syntax tree and text, a few MB for a course with many groups.
 */
function platformLookups(roles: Map<string, Role>, platformIds: Map<string, string>, groups: MainConfig['groups']): Pick<CourseConfig, 'roleOf' | 'groupOf'> {
  return {
    roleOf: (platform, id) => roles.get(`${platform}:${id}`) ?? 'member',
    // A group with no WeChat room id is reachable in the simulator as `<handle>@chatroom`.
    groupOf: (platform, id) => platformIds.get(`${platform}:${id}`) ?? simulatedGroup(platform, id, groups),
  };
}

function simulatedGroup(platform: Platform, id: string, groups: MainConfig['groups']): string | undefined {
  if (platform !== 'wechat' || !id.endsWith('@chatroom')) return undefined;
  const handle = id.slice(0, -'@chatroom'.length);
  return groups[handle] && !groups[handle].wechat ? handle : undefined;
}

function parseWith<S extends z.ZodType>(file: YamlFile, schema: S): z.output<S> | undefined {
  if (!file.load()) return undefined;
  const r = schema.safeParse(file.data ?? {});
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) file.problem([...path, key], `unknown key "${key}"${didYouMean(key, knownKeys(schema, path))}`);
    } else {
      file.problem(path, issue.message);
    }
  }
  return undefined;
}

function checkUnique(file: YamlFile, values: string[], pathOf: (i: number) => (string | number)[], what: string): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v)) file.problem(pathOf(i), `duplicate ${what} "${v}"`);
    seen.add(v);
  });
}

/** `{name}` placeholders of a template; `{{` and `}}` are literal braces. */
export function templateVariables(text: string): string[] {
  return [...text.replace(/\{\{|\}\}/g, '').matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
}

/** Fills a template's `{var}` placeholders; a missing value renders as empty text. */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, name: string | undefined) => (m === '{{' ? '{' : m === '}}' ? '}' : (vars[name!] ?? '')));
}
