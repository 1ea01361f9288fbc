/**
 * A real WeChat account as things stand (docs/wechat.md): a self-hosted gateway, started as the
 * docs say (deploy/wechat-gateway/gateway.mjs, the mock puppet standing in for the puppet that
 * holds the WeChat session), and kequn connected to it exactly as a seller configures it (the
 * environment variables, through wechatModeFromEnv and createApp), over gRPC on 127.0.0.1:
 * without TLS, and with TLS and a real name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, wechatModeFromEnv, type App } from '../../src/app.js';
import { EnvError } from '../../src/config/env-error.js';
import type { CourseConfig } from '../../src/core/types.js';
import { OffsetClock } from '../../src/core/schedule/clock.js';
import { silentLogger } from '../../src/log.js';
import { DEMO_CONFIG_DIR } from '../helpers/fixtures.js';
import { freePort, waitFor } from '../helpers/grpc-port.js';
// @ts-expect-error -- a plain ESM script without type declarations (it runs where kequn is not installed)
import { GatewayUsageError, gatewayOptions, main as gatewayMain } from '../../deploy/wechat-gateway/gateway.mjs';

const GATEWAY = 'deploy/wechat-gateway/gateway.mjs';
const TLS_DIR = 'test/fixtures/wechat-gateway-tls';
const SECRET = '5f0c2a9e4b7d41c3a8e2';
const ROOM = 'python-101@chatroom';
const BOT_ID = 'wxid_course_account';

interface Gateway {
  puppet: import('wechaty-puppet-mock').PuppetMock;
  endpoint: string;
  stop(): Promise<void>;
}

// PuppetService caches payloads under ~/.wechaty/: a fresh HOME for this file.
const realHome = process.env.HOME;
const home = mkdtempSync(join(tmpdir(), 'kequn-gateway-'));
process.env.HOME = home;

let config: CourseConfig;
let gateway: Gateway | undefined;
let app: App | undefined;
const children: ChildProcess[] = [];
const dirs: string[] = [home];

beforeAll(async () => {
  const { log } = await import('wechaty-puppet');
  log.level('silent');
  config = loadConfig(DEMO_CONFIG_DIR, { env: {} });
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await gateway?.stop();
  gateway = undefined;
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  process.env.HOME = realHome;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The WeChat world behind the gateway: the course account in the trial group, Alice outside it. */
function world(g: Gateway): { groupTexts: () => string[]; join: (id: string, name: string) => void } {
  const mocker = g.puppet.mocker;
  const bot = mocker.createContact({ id: BOT_ID, name: '小课' });
  const room = mocker.createRoom({ id: ROOM, topic: 'Python 入门体验群', memberIdList: [BOT_ID], ownerId: BOT_ID, adminIdList: [] });
  // The account is logged in on the WeChat client by the time kequn connects.
  g.puppet.once('start', () => void setImmediate(() => mocker.login(bot)));
  const texts: string[] = [];
  g.puppet.on('message', ({ messageId }) => {
    const p = mocker.messagePayload(messageId) as { talkerId?: string; roomId?: string; text?: string };
    if (p.talkerId === BOT_ID && p.roomId === ROOM) texts.push(p.text ?? '');
  });
  return {
    groupTexts: () => texts,
    join(id, name) {
      const c = mocker.createContact({ id, name });
      room.add(c).by(c);
    },
  };
}

/** kequn as `npx kequn start` builds it from this environment (a clock in the daytime: no quiet hours). */
async function startKequn(env: NodeJS.ProcessEnv): Promise<App> {
  const clock = new OffsetClock();
  clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
  const dir = mkdtempSync(join(tmpdir(), 'kequn-gateway-db-'));
  dirs.push(dir);
  const started = await createApp({ config, clock, log: silentLogger, live: true, dbPath: join(dir, 'kequn.db'), wechat: wechatModeFromEnv(env) });
  await started.kernel.start();
  return started;
}

describe('the gateway of docs/wechat.md, kequn on the other side', () => {
  it('without TLS (the same machine or a private network): kequn logs in through it and welcomes a newcomer', async () => {
    const port = await freePort();
    const token = `insecure_${SECRET}`;
    const lines: string[] = [];
    // The documented command line, run by the same entry point as `node gateway.mjs …`.
    gateway = (await gatewayMain(['--puppet', 'wechaty-puppet-mock', '--host', '127.0.0.1', '--port', String(port), '--no-tls', '--token', token], {}, (l: string) => lines.push(l))) as Gateway;
    const w = world(gateway);
    expect(lines.join('\n')).toContain(`WECHATY_PUPPET_SERVICE_ENDPOINT=127.0.0.1:${port}`);
    expect(lines.join('\n')).toContain('WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT=true');

    app = await startKequn({ WECHATY_PUPPET_SERVICE_TOKEN: token, WECHATY_PUPPET_SERVICE_ENDPOINT: `127.0.0.1:${port}`, WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT: 'true' });
    await waitReady(() => app!.kernel.isReady(), 10_000);
    expect(app.exposure).toBe('real');
    expect(lines).toContain('puppet started (kequn connected)');
    expect(lines).toContain(`logged in as ${BOT_ID}`);

    w.join('wxid_alice', 'Alice');
    await waitFor(() => w.groupTexts().find((t) => t.includes('欢迎 Alice')), 'the welcome in the group, through the gateway', 10_000);
  });

  it('with TLS and a real name: kequn connects when it trusts the CA that signed the certificate, and the token names it', async () => {
    const port = await freePort();
    const token = `gateway.kequn.test_${SECRET}`;
    const lines: string[] = [];
    gateway = (await gatewayMain(
      ['--puppet', 'wechaty-puppet-mock', '--port', String(port), '--tls-cert', join(TLS_DIR, 'gateway.pem'), '--tls-key', join(TLS_DIR, 'gateway-key.pem'), '--token', token],
      {},
      (l: string) => lines.push(l),
    )) as Gateway;
    const w = world(gateway);
    expect(lines.join('\n')).toContain('WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE=');
    expect(lines.join('\n')).not.toContain('NO_TLS');

    app = await startKequn({ WECHATY_PUPPET_SERVICE_TOKEN: token, WECHATY_PUPPET_SERVICE_ENDPOINT: `127.0.0.1:${port}`, WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE: join(TLS_DIR, 'ca.pem') });
    await waitReady(() => app!.kernel.isReady(), 10_000);
    w.join('wxid_bob', 'Bob');
    await waitFor(() => w.groupTexts().find((t) => t.includes('欢迎 Bob')), 'the welcome in the group, over TLS', 10_000);
  });

  it('over TLS, a client that does not trust the CA gets nothing from the gateway', async () => {
    const port = await freePort();
    const token = `gateway.kequn.test_${SECRET}`;
    const lines: string[] = [];
    gateway = (await gatewayMain(
      ['--puppet', 'wechaty-puppet-mock', '--port', String(port), '--tls-cert', join(TLS_DIR, 'gateway.pem'), '--tls-key', join(TLS_DIR, 'gateway-key.pem'), '--token', token],
      {},
      (l: string) => lines.push(l),
    )) as Gateway;
    world(gateway);
    // wechaty-puppet-service's client, trusting only Wechaty's own CA (no CA given to kequn).
    const { PuppetService } = await import('wechaty-puppet-service');
    const client = new PuppetService({ token, endpoint: `127.0.0.1:${port}` });
    const started = client.start().then(
      () => 'started',
      (e: Error) => `refused: ${e.message}`,
    );
    const outcome = await Promise.race([started, new Promise((r) => setTimeout(() => r('no connection within 3 s'), 3000))]);
    expect(outcome).not.toBe('started');
    expect(lines).not.toContain('puppet started (kequn connected)');
    await client.stop().catch(() => undefined);
  });
});

describe('the gateway refuses what it cannot serve safely', () => {
  const cert = join(TLS_DIR, 'gateway.pem');
  const key = join(TLS_DIR, 'gateway-key.pem');
  const refused = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    try {
      gatewayOptions(argv, env);
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayUsageError);
      return (e as Error).message;
    }
    throw new Error(`accepted: ${argv.join(' ')}`);
  };

  it('asks for a decision on TLS, a real puppet and a token that is a secret', () => {
    expect(refused(['--puppet', 'wechaty-puppet-xp'])).toMatch(/--no-tls .*or --tls-cert FILE --tls-key FILE/);
    expect(refused(['--no-tls'])).toMatch(/--puppet is required/);
    expect(refused(['--puppet', 'wechaty-puppet-service', '--no-tls'])).toMatch(/another gateway/);
    expect(refused(['--puppet', 'left-pad', '--no-tls'])).toMatch(/npm name of a Wechaty puppet/);
    expect(refused(['--puppet', 'wechaty-puppet-xp', '--no-tls', '--token', 'insecure_short'])).toMatch(/16 or more/);
    expect(refused(['--puppet', 'wechaty-puppet-xp', '--no-tls', '--token', 'a_b_0123456789abcdef'])).toMatch(/exactly one "_"/);
    expect(refused(['--puppet', 'wechaty-puppet-xp', '--no-tls', '--port', '70000'])).toMatch(/--port/);
    expect(refused(['--puppet', 'wechaty-puppet-xp', '--no-tls', '--tls-cert', cert, '--tls-key', key])).toMatch(/contradict/);
    expect(refused(['--puppet', 'wechaty-puppet-xp', '--tls-cert', 'nope.pem', '--tls-key', key])).toMatch(/--tls-cert nope.pem: no such file/);
    expect(refused(['--puppet', 'wechaty-puppet-xp', '--tls-cert', cert, '--tls-key', key, '--token', `insecure_${SECRET}`])).toMatch(/"insecure" is not a name of the certificate \(gateway\.kequn\.test\)/);
  });

  it('makes a token when none is given: insecure_… without TLS, the certificate name with it; listens on this machine only by default', () => {
    const plain = gatewayOptions(['--puppet', 'wechaty-puppet-xp', '--no-tls'], {});
    expect(plain).toMatchObject({ host: '127.0.0.1', port: 8788, generated: true, tls: null });
    expect(plain.token).toMatch(/^insecure_[0-9a-f]{32}$/);
    const tls = gatewayOptions(['--puppet', 'wechaty-puppet-xp', '--tls-cert', cert, '--tls-key', key], {});
    expect(tls.token).toMatch(/^gateway\.kequn\.test_[0-9a-f]{32}$/);
    expect(tls.tls.cert).toBe(readFileSync(cert, 'utf8'));
    expect(gatewayOptions(['--puppet', 'wechaty-puppet-xp', '--no-tls'], { KEQUN_GATEWAY_TOKEN: `insecure_${SECRET}` })).toMatchObject({ token: `insecure_${SECRET}`, generated: false });
  });

  it("kequn's side: a token without a server name, or an unreadable CA file, is a clear start error", () => {
    expect(() => wechatModeFromEnv({ WECHATY_PUPPET_SERVICE_TOKEN: 'nounderscore' })).toThrow(EnvError);
    expect(() => wechatModeFromEnv({ WECHATY_PUPPET_SERVICE_TOKEN: `gateway.kequn.test_${SECRET}`, WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE: '/nonexistent/ca.pem' })).toThrow(/cannot read \/nonexistent\/ca\.pem/);
    expect(() => wechatModeFromEnv({ WECHATY_PUPPET_SERVICE_TOKEN: `gateway.kequn.test_${SECRET}`, WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE: join(TLS_DIR, 'gateway-key.pem') })).toThrow(/not a PEM certificate/);
    const mode = wechatModeFromEnv({ WECHATY_PUPPET_SERVICE_TOKEN: `gateway.kequn.test_${SECRET}`, WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE: join(TLS_DIR, 'ca.pem') });
    expect(mode).toMatchObject({ kind: 'service', noTls: false, caCert: readFileSync(join(TLS_DIR, 'ca.pem'), 'utf8') });
  });
});

describe('the command line, as a process', () => {
  it('`node gateway.mjs …` serves kequn until SIGTERM; a command line without a TLS decision exits 2 with the reason', async () => {
    const bad = spawn(process.execPath, [GATEWAY, '--puppet', 'wechaty-puppet-mock'], { stdio: 'pipe' });
    children.push(bad);
    let badErr = '';
    bad.stderr!.on('data', (b: Buffer) => (badErr += b.toString()));
    const badCode = await new Promise((r) => bad.on('exit', r));
    expect(badCode).toBe(2);
    expect(badErr).toMatch(/choose how kequn reaches this gateway/);

    const port = await freePort();
    const token = `insecure_${SECRET}`;
    const child = spawn(process.execPath, [GATEWAY, '--puppet', 'wechaty-puppet-mock', '--no-tls', '--port', String(port)], { stdio: 'pipe', env: { ...process.env, KEQUN_GATEWAY_TOKEN: token, WECHATY_LOG: 'silent' } });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes(`listening on 127.0.0.1:${port}`), 'the gateway to listen', 15_000);
    // What kequn needs is printed after that, in a write of its own: a pipe may deliver it later.
    await waitFor(() => out.includes('WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT=true'), "the gateway to print kequn's settings", 5_000);
    // A token given is never echoed (a console or its log is not where secrets go).
    expect(out).not.toContain(SECRET);
    expect(out).toContain('WECHATY_PUPPET_SERVICE_TOKEN=<the token given to the gateway>');
    app = await startKequn({ WECHATY_PUPPET_SERVICE_TOKEN: token, WECHATY_PUPPET_SERVICE_ENDPOINT: `127.0.0.1:${port}`, WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT: 'true' });
    await waitFor(() => out.includes('puppet started (kequn connected)'), 'kequn to connect', 15_000);
    await app.stop();
    app = undefined;
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
  }, 45_000);
});
