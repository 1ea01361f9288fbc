/**
 * The deployment files (deploy/, Dockerfile) read against the code, without Docker or systemd:
 * every command they run is a real kequn command with real flags, every environment variable
 * they set is one kequn reads (or a standard one), the compose file has the shape docs/deploy.md
 * describes, and the backup unit's command, run as written, makes a verified backup.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openStore } from '../../src/store/db.js';

const ROOT = process.cwd();
function sh(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => execFile('/bin/sh', ['-c', command], { cwd: ROOT, env }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout))));
}
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** The several-instances settings: the env table of docs/deploy.md must list them. */
const MULTI_INSTANCE = ['KEQUN_INSTANCE', 'KEQUN_TAKEOVER_AFTER'];
/** Not kequn's, but standard for Node and services. */
const STANDARD = ['HOME', 'NODE_ENV', 'NODE_OPTIONS'];

/** Environment variables src/ reads: `env.X`, `env['X']`, and `read('X')` + `${name}_FILE`. */
function envReadBySrc(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  for (const file of walk(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv\)?\.([A-Z][A-Z0-9_]+)\b/g)) names.add(m[1]!);
    for (const m of text.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) names.add(m[1]!);
    if (text.includes('env[name]')) {
      // wechatPaySecretsFromEnv: read('WECHATPAY_PRIVATE_KEY') looks up the name and NAME_FILE
      for (const m of text.matchAll(/\bread\('([A-Z][A-Z0-9_]+)'\)/g)) {
        names.add(m[1]!);
        if (text.includes('`${name}_FILE`')) names.add(`${m[1]}_FILE`);
      }
    }
  }
  return names;
}

const READ = envReadBySrc();
/** README.md and docs/*.md, where each variable kequn reads is described. */
const DOCS = read('README.md') + readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => read(`docs/${f}`)).join('\n');
const documented = (name: string) => DOCS.includes(name) || (name.endsWith('_FILE') && DOCS.includes(`${name.slice(0, -5)}(_FILE)`));

function unknownEnv(names: Iterable<string>): string[] {
  return [...names].filter((n) => !READ.has(n) && !STANDARD.includes(n));
}

/** NAME=value lines of an env file, commented-out ones (`#NAME=`) included: they are documentation. */
function envFileNames(path: string): string[] {
  return read(path)
    .split('\n')
    .map((l) => /^#?([A-Za-z_][A-Za-z0-9_]*)=/.exec(l.trim())?.[1])
    .filter((n): n is string => n !== undefined);
}

/** A kequn command line: `node …/bin/kequn.mjs SUB [args]` → checks SUB and its --flags exist. */
function checkKequnCommand(argv: string[], scriptDir: string): string[] {
  const problems: string[] = [];
  const i = argv.findIndex((a) => a.endsWith('bin/kequn.mjs'));
  if (i < 0) return [`no bin/kequn.mjs in ${argv.join(' ')}`];
  if (!/(^|\/)node$/.test(argv[0]!)) problems.push(`runs ${argv[0]}, not node`);
  const script = argv[i]!.startsWith('/') ? relative(scriptDir, argv[i]!) : argv[i]!;
  if (script !== 'bin/kequn.mjs' || !existsSync(join(ROOT, script))) problems.push(`${argv[i]} is not bin/kequn.mjs under ${scriptDir}`);
  const main = read('src/cli/main.ts');
  const sub = argv[i + 1];
  if (!sub || !main.includes(`case '${sub}':`)) problems.push(`kequn has no command "${sub}"`);
  for (const flag of argv.slice(i + 2).filter((a) => a.startsWith('--'))) {
    const name = flag.slice(2).split('=')[0]!;
    if (!new RegExp(`\\n\\s+'?${name}'?: \\{ type:`).test(main)) problems.push(`kequn has no flag ${flag}`);
  }
  return problems;
}

/** A systemd unit as section → key → values (keys like Environment repeat). */
function parseUnit(path: string): Record<string, Record<string, string[]>> {
  const unit: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of read(path).split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    expect(line.endsWith('\\'), `${path}: no continuation lines`).toBe(false);
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      unit[section] ??= {};
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    expect(kv, `${path}: "${line}"`).not.toBeNull();
    ((unit[section] ??= {})[kv![1]!] ??= []).push(kv![2]!);
  }
  return unit;
}

/** `Environment=A=1` lines → { A: '1' }. */
function unitEnv(service: Record<string, string[]>): Record<string, string> {
  return Object.fromEntries((service.Environment ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

describe('deploy/kequn.service', () => {
  const unit = parseUnit('deploy/kequn.service');
  const svc = unit.Service!;
  const one = (k: string) => {
    expect(svc[k], `Service.${k}`).toHaveLength(1);
    return svc[k]![0]!;
  };

  it('runs `kequn start` from the install directory as a dedicated user, secrets from an env file', () => {
    expect(one('User')).not.toBe('root');
    const wd = one('WorkingDirectory');
    expect(wd.startsWith('/')).toBe(true);
    expect(one('EnvironmentFile').startsWith('/etc/')).toBe(true);
    const argv = one('ExecStart').split(/\s+/);
    expect(argv[0]).toMatch(/^\/.*\/node$/);
    expect(checkKequnCommand(argv, wd)).toEqual([]);
    expect(argv[argv.indexOf(`${wd}/bin/kequn.mjs`) + 1]).toBe('start');
  });

  it('restarts on failure but not on a configuration error, and stops with SIGTERM', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    // runStart returns 2 for a bad config, a missing secret or a store another kequn holds
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(read('src/cli/start.ts')).toContain("process.once('SIGTERM'");
    expect(unit.Install?.WantedBy).toEqual(['multi-user.target']);
  });

  it('writes only under its StateDirectory, where KEQUN_DATA points', () => {
    expect(one('ProtectSystem')).toBe('strict');
    const state = one('StateDirectory').split(/\s+/);
    const env = unitEnv(svc);
    expect(env.KEQUN_DATA!.startsWith(`/var/lib/${state[0]}/`)).toBe(true);
    expect(env.HOME).toBe(`/var/lib/${state[0]}`);
    expect(unknownEnv(Object.keys(env))).toEqual([]);
  });
});

describe('deploy/kequn-backup.service and .timer', () => {
  const unit = parseUnit('deploy/kequn-backup.service');
  const svc = unit.Service!;
  const timer = parseUnit('deploy/kequn-backup.timer');

  it('is a oneshot the timer runs nightly', () => {
    expect(svc.Type).toEqual(['oneshot']);
    expect(timer.Timer?.OnCalendar?.[0]).toMatch(/^\*-\*-\* \d\d:\d\d:\d\d$/);
    expect(timer.Timer?.Persistent).toEqual(['true']);
    expect(timer.Install?.WantedBy).toEqual(['timers.target']);
    // same user, store and secrets as the bot
    const bot = parseUnit('deploy/kequn.service').Service!;
    for (const k of ['User', 'WorkingDirectory', 'EnvironmentFile', 'Environment']) expect(svc[k], k).toEqual(bot[k]);
  });

  it('its ExecStart, run as written (systemd %% and the shell), writes a verified backup', async () => {
    const exec = svc.ExecStart![0]!;
    const shell = /^\/bin\/sh -c '(.*)'$/.exec(exec);
    expect(shell, exec).not.toBeNull();
    // systemd expands %X specifiers (%a is the architecture): a literal % must be written %%
    expect(exec.replaceAll('%%', ''), 'a lone % in ExecStart').not.toContain('%');
    const command = shell![1]!.replaceAll('%%', '%');
    const argv = command.replace(/^exec /, '').split(/\s+/);
    const wd = svc.WorkingDirectory![0]!;
    expect(checkKequnCommand(argv, wd)).toEqual([]);
    expect(argv[argv.indexOf(`${wd}/bin/kequn.mjs`) + 1]).toBe('backup');

    // The same command on this checkout: the install dir is the repo, /var/lib/kequn a temp dir.
    const state = mkdtempSync(join(tmpdir(), 'kequn-deploy-'));
    const local = (s: string) => s.replaceAll(`${wd}/`, `${ROOT}/`).replaceAll('/var/lib/kequn', state).replace(/^exec \/usr\/bin\/node /, `exec ${process.execPath} `);
    const env = Object.fromEntries(Object.entries(unitEnv(svc)).map(([k, v]) => [k, local(v)]));
    const db = openStore(env.KEQUN_DATA!);
    db.close();
    mkdirSync(join(state, 'backups'));
    const stdout = await sh(local(command), { ...process.env, ...env, DATABASE_URL: '', LC_ALL: 'C' });
    expect(stdout).toMatch(/^backed up .* schema \d+/);
    // kequn-Mon.db …: the shell expanded $(date +%a), so systemd's %% became a literal %
    const backups = readdirSync(join(state, 'backups')).filter((f) => f.endsWith('.db'));
    expect(backups).toEqual([expect.stringMatching(/^kequn-[A-Z][a-z]{2}\.db$/)]);
  }, 20_000);
});

describe('deploy/docker-compose.yml', () => {
  const compose = parse(read('deploy/docker-compose.yml'), { merge: true }) as {
    services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; env_file?: string[]; ports?: string[]; volumes?: string[]; depends_on?: Record<string, { condition: string }>; healthcheck?: { test: string[] }; restart?: string }>;
    volumes: Record<string, unknown>;
  };
  const services = compose.services;
  const kequnImage = services.migrate?.image;
  const instances = Object.entries(services).filter(([, s]) => s.environment?.KEQUN_INSTANCE !== undefined);

  it('has PostgreSQL with a named volume and a health check', () => {
    const pg = services.postgres!;
    expect(pg.image).toMatch(/^postgres:\d+/);
    const volume = pg.volumes!.find((v) => v.endsWith(':/var/lib/postgresql/data'))!;
    expect(Object.keys(compose.volumes)).toContain(volume.split(':')[0]);
    expect(pg.healthcheck!.test).toContain('pg_isready');
  });

  it('runs `kequn migrate` once, after PostgreSQL is healthy, before the instances', () => {
    const m = services.migrate!;
    expect(m.build).toBe('..');
    expect(m.restart).toBe('no');
    expect(m.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(checkKequnCommand(m.command!, '/app')).toEqual([]);
    expect(m.command!.at(-1)).toBe('migrate');
    expect(m.environment?.DATABASE_URL).toMatch(/^postgres:\/\/kequn:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432\/kequn$/);
  });

  it('has two or more kequn instances, each with its own name, env file and port, on the same image and config', () => {
    expect(instances.length).toBeGreaterThanOrEqual(2);
    const names = instances.map(([, s]) => s.environment!.KEQUN_INSTANCE!);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(new Set(names).size).toBe(names.length);
    const ownFiles = instances.map(([, s]) => s.env_file!.filter((f) => !instances.every(([, o]) => o.env_file!.includes(f))));
    for (const f of ownFiles) expect(f).toHaveLength(1);
    expect(new Set(ownFiles.flat()).size).toBe(instances.length);
    const hostPorts = instances.map(([, s]) => s.ports![0]!.split(':').slice(0, -1).join(':'));
    expect(new Set(hostPorts).size).toBe(instances.length);
    for (const p of hostPorts) expect(p.startsWith('127.0.0.1:')).toBe(true);
    for (const [name, s] of instances) {
      expect(s.image, name).toBe(kequnImage);
      expect(s.command, name).toBeUndefined(); // the image's CMD: kequn start
      expect(s.volumes, name).toEqual(services.migrate!.volumes);
      expect(s.volumes![0]!.endsWith(':/app/config:ro'), name).toBe(true);
      expect(s.environment!.DATABASE_URL, name).toBe(services.migrate!.environment!.DATABASE_URL);
      expect(s.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
    }
    expect(read('Dockerfile')).toMatch(/\nCMD \["node", "bin\/kequn\.mjs", "start"\]\n/);
  });

  it('sets only environment variables kequn reads, each documented, with an example for every env file', () => {
    const names = new Set<string>();
    for (const [name, s] of [['migrate', services.migrate!], ...instances] as const) {
      for (const k of Object.keys(s.environment ?? {})) names.add(k);
      for (const f of s.env_file ?? []) {
        expect(existsSync(join(ROOT, 'deploy', `${f}.example`)), `${name}: deploy/${f}.example`).toBe(true);
        for (const k of envFileNames(`deploy/${f}.example`)) names.add(k);
      }
    }
    for (const f of ['deploy/kequn.env.example']) for (const k of envFileNames(f)) names.add(k);
    expect(unknownEnv(names)).toEqual([]);
    expect([...names].filter((n) => !STANDARD.includes(n) && !documented(n))).toEqual([]);
    for (const n of MULTI_INSTANCE) expect(read('docs/deploy.md')).toContain(`| \`${n}\` |`);
    expect(names).toContain('KEQUN_TAKEOVER_AFTER');
  });

  it('puts only the checkout pages, payment notifications, shop links and callbacks and the join page behind the public proxy', () => {
    const caddy = read('deploy/Caddyfile');
    const proxy = services.proxy!;
    expect(proxy.volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(caddy).toMatch(/@public path \/pay\/\* \/webhooks\/\* \/go\/\* \/shop\/\* \/join\/\* \/join-assets\/\*\n/);
    // The join page's admin (QR uploads) is not public; /join/* does not match /join-admin.
    expect(caddy).not.toMatch(/@public path[^\n]*join-admin/);
    const upstreams = /reverse_proxy ([^{]+)\{/.exec(caddy)![1]!.trim().split(/\s+/);
    expect(upstreams.sort()).toEqual(instances.map(([name]) => `${name}:8787`).sort());
    // kequn answers those paths for any host name (src/web/server.ts)
    expect(read('src/web/server.ts')).toMatch(/PUBLIC_PREFIXES = \['\/pay\/', '\/webhooks\/', '\/go\/', '\/shop\/', '\/join\/', '\/join-assets\/'\]/);
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const [build, runtime] = text.split(/\nFROM /).slice(1);

  it('builds on the documented Node line (.nvmrc), which the package allows, with what the native modules need', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };
    const line = read('.nvmrc').trim();
    expect(line).toMatch(/^\d+$/);
    // engines names the floor that is tested (CI runs it); the documented line is at or above it.
    const floor = /^>=(\d+)\.\d+$/.exec(pkg.engines.node)![1]!;
    expect(Number(line)).toBeGreaterThanOrEqual(Number(floor));
    for (const stage of [build!, runtime!]) expect(stage.startsWith(`node:${line}-`)).toBe(true);
    // The types are those of the documented line; the compiled code targets the floor.
    expect(pkg.devDependencies['@types/node']!.split('.')[0]).toBe(line);
    expect(read('bin/build.mjs')).toMatch(/return `node\$\{floor\[1\]\}`/);
    expect(read('docs/deploy.md')).toContain(`Node ${line}`);
    expect(build).toMatch(/apt-get install[^\n]* python3 make g\+\+ libpq-dev/);
    expect(runtime).toMatch(/apt-get install[^\n]* libpq5/);
    // pg-native is optional: npm would skip it silently if it failed to build
    expect(read('package.json')).toContain('"pg-native"');
    expect(build).toContain("require('pg-native')");
    expect(runtime).toContain("require('pg-native')");
    // The poster renderer's native binary comes as a per-platform optional package (docs/posters.md)
    expect(build).toContain("require('@resvg/resvg-js')");
    expect(runtime).toContain("require('@resvg/resvg-js')");
  });

  it('compiles src/ at build time into the image and runs kequn start as a non-root user', () => {
    expect(runtime).toContain('RUN node bin/build.mjs');
    expect(existsSync(join(ROOT, 'bin/build.mjs'))).toBe(true);
    for (const dir of ['bin', 'src', 'config']) expect(runtime).toContain(`COPY ${dir} ./${dir}`);
    expect(runtime).toMatch(/\nUSER node\n/);
    // esbuild must survive `npm prune --omit=dev`
    expect(Object.keys((JSON.parse(read('package.json')) as { dependencies: Record<string, string> }).dependencies)).toContain('esbuild');
    const env = /\nENV ((?:[^\n]*\\\n)*[^\n]*)/.exec(runtime!)![1]!.replace(/\\\n/g, ' ');
    const names = [...env.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]!);
    expect(names).toContain('KEQUN_DATA');
    expect(unknownEnv(names)).toEqual([]);
  });
});

describe('docs/deploy.md', () => {
  const doc = read('docs/deploy.md');
  const code = [...doc.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n').replace(/\\\n\s*/g, ' ');
  const lines = code.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
  const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

  it('every kequn command it shows exists, with flags kequn knows', () => {
    const commands = [...lines, ...spans].flatMap((l) => [...l.matchAll(/(?:node (?:\S*\/)?bin\/kequn\.mjs|npx kequn) (.*?)(?=$|[;&|>])/g)].map((m) => m[1]!.trim().split(/\s+/)));
    expect(commands.length).toBeGreaterThan(12);
    for (const args of commands) expect(checkKequnCommand(['node', 'bin/kequn.mjs', ...args], '/app'), args.join(' ')).toEqual([]);
  });

  it('every `docker compose` command names services of deploy/docker-compose.yml', () => {
    const services = Object.keys((parse(read('deploy/docker-compose.yml'), { merge: true }) as { services: object }).services);
    let checked = 0;
    for (const l of lines) {
      const m = /^docker compose (logs|run|stop|start|exec|up|ps|build)\b(.*)$/.exec(l);
      if (!m) continue;
      const words = m[2]!.split(/\s+/).filter((w) => w !== '');
      const operands = [];
      for (const w of words) {
        if (w === '>' || w === '<') break;
        if (!w.startsWith('-')) operands.push(w);
      }
      // run/exec: SERVICE COMMAND...; the others: SERVICE...
      const named = m[1] === 'run' || m[1] === 'exec' ? operands.slice(0, 1) : operands;
      for (const s of named) expect(services, l).toContain(s);
      checked += named.length;
    }
    expect(checked).toBeGreaterThan(8);
  });

  it('is linked from the README, postgresql.md and operations.md; the env files it has you create are ignored by git', () => {
    expect(read('README.md')).toContain('(docs/deploy.md)');
    expect(read('docs/postgresql.md')).toContain('(deploy.md)');
    expect(read('docs/operations.md')).toContain('(deploy.md)');
    for (const m of doc.matchAll(/\]\(([a-z-]+\.md)\)/g)) expect(existsSync(join(ROOT, 'docs', m[1]!)), m[1]).toBe(true);
    expect(read('.gitignore')).toMatch(/\ndeploy\/\.env\ndeploy\/\*\.env\n/);
    expect(read('.dockerignore')).toMatch(/\ndeploy\/\.env\ndeploy\/\*\.env\n/);
  });
});
