/**
 * `kequn start` checks what it was given before the bot starts (issue 22, items 9, 4 and 1): the
 * environment, the port and the store; each problem is one clear line and exit code 2, with no
 * stack trace and nothing started (no store file written when the environment or port is wrong).
 * Runs the real CLI in a child process on the tests' own course.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_CONFIG_DIR } from '../helpers/fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kequn-start-checks-'));
  dirs.push(d);
  return d;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs `kequn start` until it exits (or kills it after `timeoutMs`); its output and exit code. */
async function start(env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<{ code: number | null; lines: string[]; out: string }> {
  const home = tempDir();
  const full: NodeJS.ProcessEnv = { ...process.env, HOME: home, KEQUN_CONFIG: DEMO_CONFIG_DIR, KEQUN_LOG_LEVEL: 'warn', ...env };
  for (const k of ['WECHATY_PUPPET_SERVICE_TOKEN', 'TELEGRAM_BOT_TOKEN', 'OPENAI_API_KEY', 'KEQUN_ADMIN_TOKEN', 'DATABASE_URL', 'KEQUN_PUBLIC_URL', 'KEQUN_STAGING', 'KEQUN_TRUST_PROXY', 'KEQUN_ALLOWED_HOSTS', 'KEQUN_WECHAT']) {
    if (!(k in env)) delete full[k];
  }
  const child = spawn(process.execPath, ['bin/kequn.mjs', 'start'], { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, out, lines: out.split('\n').map((l) => l.trim()).filter(Boolean) };
}

/** One line, exit 2, no stack trace. */
function expectOneClearLine(r: { code: number | null; lines: string[]; out: string }, pattern: RegExp): void {
  expect(r.lines, r.out).toHaveLength(1);
  expect(r.lines[0]).toMatch(pattern);
  expect(r.out).not.toMatch(/\n\s+at /);
  expect(r.code, r.out).toBe(2);
}

describe('kequn start: environment, port and store are checked before the bot starts', () => {
  it('a busy port: one line naming the port, exit 2, and no store was opened', async () => {
    const busy: Server = createServer();
    const port = await new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)));
    try {
      const data = join(tempDir(), 'kequn.db');
      const r = await start({ KEQUN_DATA: data, KEQUN_PORT: String(port) });
      expectOneClearLine(r, new RegExp(`port ${port}.*(in use|busy)`, 'i'));
      expect(existsSync(data)).toBe(false);
    } finally {
      busy.close();
    }
  }, 30_000);

  it('KEQUN_DATA naming a directory: one line saying so, exit 2', async () => {
    const folder = join(tempDir(), 'a-folder');
    mkdirSync(folder);
    const r = await start({ KEQUN_DATA: folder, KEQUN_PORT: String(await freePort()) });
    expectOneClearLine(r, /directory/);
    expect(r.lines[0]).toContain(folder);
  }, 30_000);

  it.each([
    ['KEQUN_PORT', 'abc', /KEQUN_PORT/],
    ['KEQUN_TRUST_PROXY', '10.0.0.0/99', /KEQUN_TRUST_PROXY/],
    ['KEQUN_ALLOWED_HOSTS', 'https://kequn.example.com/', /KEQUN_ALLOWED_HOSTS/],
    ['KEQUN_STAGING', 'maybe', /KEQUN_STAGING/],
    ['KEQUN_PUBLIC_URL', 'not a url', /KEQUN_PUBLIC_URL/],
    ['KEQUN_ADMIN_TOKEN', 'short', /KEQUN_ADMIN_TOKEN/],
  ])('bad %s=%s: one line naming it, exit 2, nothing started', async (name, value, pattern) => {
    const data = join(tempDir(), 'kequn.db');
    const r = await start({ KEQUN_DATA: data, KEQUN_PORT: String(await freePort()), [name]: value });
    expectOneClearLine(r, pattern);
    expect(existsSync(data)).toBe(false);
  }, 30_000);

  it('KEQUN_WECHAT=simulated beside a real Telegram bot is refused: a demo is a second kequn with its own store', async () => {
    const data = join(tempDir(), 'kequn.db');
    const r = await start({
      KEQUN_DATA: data,
      KEQUN_PORT: String(await freePort()),
      KEQUN_WECHAT: 'simulated',
      TELEGRAM_BOT_TOKEN: '123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:9',
    });
    expectOneClearLine(r, /KEQUN_WECHAT=simulated.*second kequn/);
    expect(existsSync(data)).toBe(false);
  }, 30_000);

  it('a real WeChat account with payments.provider: sandbox is refused unless KEQUN_STAGING=1', async () => {
    const data = join(tempDir(), 'kequn.db');
    const r = await start({
      KEQUN_DATA: data,
      KEQUN_PORT: String(await freePort()),
      WECHATY_PUPPET_SERVICE_TOKEN: 'insecure_local-token',
      WECHATY_PUPPET_SERVICE_ENDPOINT: '127.0.0.1:9',
      WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT: 'true',
    });
    expectOneClearLine(r, /sandbox.*KEQUN_STAGING=1/);
    expect(existsSync(data)).toBe(false);
  }, 30_000);
});
