import { existsSync, statSync } from 'node:fs';
import { resolve, join, isAbsolute } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';
import { YamlFile, type ParsedStore } from './yaml-file.js';
import { cacheDirFor } from './parsed-cache.js';
import { didYouMean, knownKeys } from '../util/suggest.js';
import { checkUnique } from './checks.js';
import { mainSchemaWith, rulesSchemaFor, templatesSchema, type MainConfig } from './schema.js';
import type { SectionContext } from './section.js';
import type { Feature } from '../core/feature.js';
import { compileRules } from '../core/rules/compile.js';
import { buildRegistry, type Registry } from '../core/registry.js';
import { renderTemplate, templateVariables } from '../core/templates.js';
import type { CourseConfig, RawRule, Role } from '../core/types.js';
import type { Platform } from '../bot/events.js';
import { isPostgresUrl } from '../store/url.js';

export { renderTemplate, templateVariables };
export type { CourseConfig, Role };

/** The files of a course folder the core reads; features name their own (ConfigSection.file). */
export const CONFIG_FILES = { main: 'kequn.yaml', templates: 'templates.yaml', rules: 'rules.yaml' } as const;

/**
 * Loads a course folder (kequn.yaml, templates.yaml, rules.yaml and the files the features name)
 * for a list of features, and throws a ConfigError listing every problem with file:line and key
 * path. The core's sections are checked here; each feature's section by its own resolver
 * (Feature.config), in the order of the list; then the rules are compiled against the registry.
 * It imports no feature: src/app.ts passes the list (its loadConfig is what callers use).
 *
 * @example const config = loadCourseConfig('config', { registry: buildRegistry(FEATURES) });
 */
export function loadCourseConfig(dir: string, opts: { registry: Registry; env?: NodeJS.ProcessEnv; stored?: boolean }): CourseConfig {
  const reg = opts.registry;
  const env = opts.env ?? process.env;
  const absDir = resolve(dir);
  if (!existsSync(absDir) || !statSync(absDir).isDirectory()) {
    throw new ConfigError([{ file: dir, line: 1, keyPath: '', message: 'configuration folder not found' }]);
  }
  const sections = reg.features.flatMap((f) => f.config ?? []);
  const ownFiles = new Map<string, YamlFile>();
  for (const s of sections) if (s.file && !ownFiles.has(s.file)) ownFiles.set(s.file, new YamlFile(join(absDir, s.file)));
  const files = {
    main: new YamlFile(join(absDir, CONFIG_FILES.main)),
    templates: new YamlFile(join(absDir, CONFIG_FILES.templates)),
    rules: new YamlFile(join(absDir, CONFIG_FILES.rules)),
  };
  const all = [files.main, files.templates, files.rules, ...ownFiles.values()];
  const problems: ConfigProblem[] = [];
  const collect = () => problems.push(...all.flatMap((f) => f.problems));

  const mainSchema = mainSchemaWith(
    Object.fromEntries(sections.filter((s) => !s.file).map((s) => [s.key, s.schema])),
    Object.fromEntries(reg.features.flatMap((f) => Object.entries(f.groupKeys ?? {}))),
  );
  const main = parseWith(files.main, mainSchema) as (MainConfig & Record<string, unknown>) | undefined;
  const templates = parseWith(files.templates, templatesSchema);
  const rawRules = parseWith(files.rules, rulesSchemaFor(reg.triggers as [string, ...string[]]));
  // The features' own files as validated at a previous start, where the store keeps its Q&A
  // index (src/config/parsed-cache.ts): `kequn start` only. Known once kequn.yaml is read.
  const storeDir = opts.stored && main ? cacheDirFor(dataPathOf(main, absDir, env)) : undefined;
  // A feature's own file is optional: a course that sells nothing has no catalog.yaml.
  const own = new Map<string, unknown>();
  let ownOk = true;
  for (const [name, file] of ownFiles) {
    if (!existsSync(file.path)) continue;
    const section = sections.find((s) => s.file === name)!;
    const owners = reg.features.filter((f) => f.config?.some((s) => s.file === name)).map((f) => `${f.name}:${f.config!.filter((s) => s.file === name).map((s) => s.key).join('+')}`);
    const parsed = parseWith(file, section.schema, storeDir && section.stored ? { dir: storeDir, name, scope: owners.join(',') } : undefined);
    if (parsed === undefined) ownOk = false;
    else own.set(name, parsed);
  }
  if (!main || !templates || !rawRules || !ownOk) {
    collect();
    throw new ConfigError(problems);
  }

  const templateVars = new Set<string>(reg.templateVars);

  const stageIds = main.stages.map((s) => s.id);
  checkUnique(files.main, stageIds, (i) => ['stages', i, 'id'], 'stage');
  checkStages(main, files.main);
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

  // DATABASE_URL (PostgreSQL) wins over the SQLite file (KEQUN_DATA, then `data:`).
  const databaseUrl = env.DATABASE_URL?.trim();
  if (databaseUrl && !isPostgresUrl(databaseUrl)) {
    files.main.problem(['data'], 'DATABASE_URL is set but is not a postgres:// or postgresql:// URL (unset it to use the SQLite file)');
  }
  const dataPath = dataPathOf(main, absDir, env);

  const config = {
    dir: absDir,
    course: main.course,
    dataPath,
    web: main.web,
    groups: main.groups,
    staff: main.staff,
    stageIds,
    stages: main.stages,
    quietHours: main.quiet_hours,
    outbox: main.outbox,
    scheduler: main.scheduler,
    dryRun: main.dry_run,
    privateChannel: main.private_channel,
    templates,
    templateVars,
    rawRules: rawRules.rules as RawRule[],
    ruleIds: new Set(rawRules.rules.map((r) => r.id)),
    rules: [],
    ...platformLookups(roles, platformIds, main.groups),
  } as unknown as CourseConfig;

  // Each feature's sections, in the order of the list: what it reads at run time lands on the
  // config under the name the feature declared (Feature.config[].as).
  for (const s of sections) {
    const file = s.file ? ownFiles.get(s.file)! : files.main;
    const ctx: SectionContext = { main, templates, stageIds, dir: absDir, env, file, templatesFile: files.templates };
    const raw = s.file ? own.get(s.file) : main[s.key];
    (config as unknown as Record<string, unknown>)[s.as] = s.resolve(raw, ctx);
  }

  // Where links point: the environment, kequn.yaml, then a feature's own setting (catalog.yaml).
  const featureUrl = reg.features.map((f) => f.publicUrl?.(config)).find((u) => u !== undefined);
  config.publicUrl = (env.KEQUN_PUBLIC_URL ?? main.web.public_url ?? featureUrl ?? `http://127.0.0.1:${env.KEQUN_PORT ?? main.web.port}`).replace(/\/+$/, '');

  // What the features' config holds that templates may name (`{product.python-vip.price}`).
  config.values = Object.assign({}, ...reg.features.map((f) => f.courseValues?.(config) ?? {})) as Record<string, string>;
  for (const v of Object.keys(config.values)) templateVars.add(v);
  for (const [name, text] of Object.entries(templates)) {
    for (const v of templateVariables(text)) {
      if (!templateVars.has(v)) files.templates.problem([name], `unknown template variable {${v}}${didYouMean(v, templateVars)} (variables: ${reg.templateVars.join(', ')}${Object.keys(config.values).length > 0 ? `; course values: ${Object.keys(config.values).join(', ')}` : ''})`);
    }
  }
  const fileNamed = (name: string) => (name === CONFIG_FILES.main ? files.main : name === CONFIG_FILES.templates ? files.templates : name === CONFIG_FILES.rules ? files.rules : ownFiles.get(name));
  for (const f of reg.features) {
    f.checkCourse?.(config, {
      problem: (file, path, message) => fileNamed(file)?.problem(path, message),
      warn: (file, path, message) => fileNamed(file)?.warn(path, message),
    });
  }

  checkUnique(files.rules, rawRules.rules.map((r) => r.id), (i) => ['rules', i, 'id'], 'rule id');
  config.rules = compileRules(config.rawRules, config, reg, (path, message) => files.rules.problem(path, message));

  collect();
  if (problems.length > 0) throw new ConfigError(problems);
  config.warnings = all.flatMap((f) => f.warnings);
  config.parsedStore = all.flatMap((f) => (f.cache ? [{ file: f.display, ...f.cache }] : []));
  return config;
}

/** The store's location: DATABASE_URL (PostgreSQL) wins over the SQLite file (KEQUN_DATA, then `data:`). */
function dataPathOf(main: MainConfig, absDir: string, env: NodeJS.ProcessEnv): string {
  const databaseUrl = env.DATABASE_URL?.trim();
  return databaseUrl && isPostgresUrl(databaseUrl) ? databaseUrl : env.KEQUN_DATA ? resolve(env.KEQUN_DATA) : isAbsolute(main.data) ? main.data : resolve(absDir, main.data);
}

/**
 * The lifecycle state machine's load-time checks: every stage named in `to` exists and every
 * stage can be reached from the first one. Problems at the offending key of kequn.yaml.
 */
function checkStages(main: MainConfig, file: YamlFile): void {
  const ids = main.stages.map((s) => s.id);
  const known = (s: string) => ids.includes(s);
  const list = ids.join(', ');
  main.stages.forEach((stage, i) => {
    stage.to?.forEach((to, j) => {
      if (!known(to)) file.problem(['stages', i, 'to', j], `unknown stage "${to}"${didYouMean(to, ids)} (stages: ${list})`);
    });
  });
  // Reachability from the first stage (where members start): a stage nobody can enter is a typo
  // or a forgotten `to`, and its rules could never fire.
  const reached = new Set<string>([ids[0]!]);
  const queue = [ids[0]!];
  while (queue.length > 0) {
    const id = queue.shift()!;
    const from = main.stages.find((s) => s.id === id)!;
    for (const to of from.to ?? ids) {
      if (known(to) && !reached.has(to)) {
        reached.add(to);
        queue.push(to);
      }
    }
  }
  main.stages.forEach((stage, i) => {
    if (!reached.has(stage.id)) file.problem(['stages', i, 'id'], `stage "${stage.id}" cannot be reached from "${ids[0]}": no reachable stage lists it in \`to\``);
  });
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
 * `roleOf` and `groupOf`, made outside loadCourseConfig: a closure created there would keep its
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

function parseWith<S extends z.ZodType>(file: YamlFile, schema: S, store?: ParsedStore): z.output<S> | undefined {
  if (!file.load(store)) return undefined;
  // Read from the store: what this schema made of these very bytes at a previous load.
  if (file.validated) return file.data as z.output<S>;
  const r = schema.safeParse(file.data ?? {});
  if (r.success) {
    file.storeValidated(r.data);
    return r.data;
  }
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

/** Builds the registry of a feature list and loads a course with it (tests with their own list). */
export function loadWithFeatures(dir: string, features: readonly Feature[], env?: NodeJS.ProcessEnv): CourseConfig {
  return loadCourseConfig(dir, { registry: buildRegistry(features), env });
}
