/**
 * The Chromium the browser tests drive with playwright-core, so that `npm ci && npm test` passes
 * on a machine that has only Node:
 *
 * - `KEQUN_CHROMIUM=/path/to/chromium`: that browser;
 * - `KEQUN_CHROMIUM=npm`: the one that comes through npm, even where the system has one (how to
 *   try what a machine with only Node gets);
 * - otherwise the system's `/usr/bin/chromium` when it exists (Debian's, faster to start), else
 *   the npm one on Linux x64, else an installed Google Chrome or Microsoft Edge (macOS, Windows:
 *   the npm package has no build for them), found by playwright at their usual places.
 *
 * The npm one is @sparticuz/chromium (a devDependency): a headless Chromium packed with brotli,
 * with the few shared libraries it needs beside it (NSS, expat) and a fallback font. It is
 * extracted once per version into the temp folder (about 5 s, 210 MB), into a folder of its own
 * renamed into place, so test files starting at the same time never run a half-written binary.
 * Chinese renders with the system's CJK fonts (fontconfig); a machine without any shows boxes in
 * screenshots, while the tests, which read the page's text, pass.
 *
 * @example
 * const { browser, source } = await launchBrowser();
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export interface ChromiumChoice {
  /** Where it came from: KEQUN_CHROMIUM's path, the system's, npm's, or an installed Chrome/Edge. */
  source: 'env' | 'system' | 'npm' | 'installed';
  /** The binary; absent for an installed Chrome or Edge, which playwright finds by `channels`. */
  executablePath?: string;
  channels?: ('chrome' | 'msedge')[];
  /** Environment the browser process needs (the npm one: its libraries and fonts). */
  env?: Record<string, string>;

}

/** Whether @sparticuz/chromium has a build for this machine (it ships Linux x64 only). */
export const NPM_CHROMIUM_RUNS_HERE = process.platform === 'linux' && process.arch === 'x64';

/** Which Chromium to launch (see the file's comment); extracts the npm one when it is the one. */
export async function chooseChromium(env: NodeJS.ProcessEnv = process.env, systemPath = SYSTEM_CHROMIUM): Promise<ChromiumChoice> {
  const wanted = env.KEQUN_CHROMIUM?.trim();
  if (wanted && wanted !== 'npm') return { source: 'env', executablePath: wanted };
  if (!wanted && existsSync(systemPath)) return { source: 'system', executablePath: systemPath };
  if (NPM_CHROMIUM_RUNS_HERE) return npmChromium();
  if (wanted === 'npm') throw new Error(`KEQUN_CHROMIUM=npm: @sparticuz/chromium has no build for ${process.platform} ${process.arch} (Linux x64 only)`);
  return { source: 'installed', channels: ['chrome', 'msedge'] };
}

/** Launches the chosen Chromium headless; a failure names the browser and what to do. */
export async function launchBrowser(env: NodeJS.ProcessEnv = process.env): Promise<{ browser: Browser; choice: ChromiumChoice }> {
  const choice = await chooseChromium(env);
  const options = { headless: true, args: ['--no-sandbox', '--disable-background-networking'], env: choice.env ? { ...stringEnv(process.env), ...choice.env } : undefined };
  const errors: string[] = [];
  for (const channel of choice.channels ?? [undefined]) {
    try {
      return { browser: await chromium.launch({ ...options, executablePath: choice.executablePath, channel }), choice };
    } catch (e) {
      errors.push((e as Error).message.split('\n')[0]!);
    }
  }
  const what = choice.executablePath ?? `an installed ${choice.channels!.join(' or ')}`;
  const hint =
    choice.source === 'npm'
      ? 'the Chromium from npm (@sparticuz/chromium) did not start here'
      : choice.source === 'installed'
        ? 'install Google Chrome, or point KEQUN_CHROMIUM at a Chromium'
        : NPM_CHROMIUM_RUNS_HERE
          ? 'KEQUN_CHROMIUM=npm uses the one from npm instead'
          : 'point KEQUN_CHROMIUM at another Chromium';
  throw new Error(`cannot launch the browser (${what}, ${choice.source}; ${hint}): ${errors.join('; ')}`);
}

/**
 * The Chromium of @sparticuz/chromium, extracted (once per version) to
 * `<tmp>/kequn-chromium-<version>/`: `chromium`, the SwiftShader libraries beside it,
 * `al2023/lib` (NSS, NSPR, expat: what a system without a browser lacks) and `fonts/`.
 */
export async function npmChromium(): Promise<ChromiumChoice> {
  const main = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  const pkgDir = join(dirname(main), '..');
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const target = join(tmpdir(), `kequn-chromium-${version}`);
  if (!existsSync(join(target, 'chromium'))) await extractTo(target, join(pkgDir, 'bin'));
  return {
    source: 'npm',
    executablePath: join(target, 'chromium'),
    env: {
      LD_LIBRARY_PATH: [join(target, 'al2023', 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_FILE: join(target, 'fonts.conf'),
      // Under LANG=C.UTF-8 (usual in containers and CI) this build reports navigator.language
      // "en-US@posix", which Intl rejects and no real browser says (Debian's says "en-US").
      ...(/^(C|POSIX)?([.@]|$)/.test(process.env.LANG ?? '') ? { LANG: 'en_US.UTF-8' } : {}),
    },
  };
}

async function extractTo(target: string, bin: string): Promise<void> {
  const { inflate } = await import('@sparticuz/chromium');
  const staging = mkdtempSync(`${target}-`);
  try {
    // inflate() writes into os.tmpdir(), which reads TMPDIR at each call and names its output
    // before its first await: pointed at the staging folder for these synchronous calls only.
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    let done: Promise<string>[];
    try {
      done = ['chromium.br', 'fonts.tar.br', 'swiftshader.tar.br', 'al2023.tar.br'].map((f) => inflate(join(bin, f)));
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    await Promise.all(done);
    // The system's fonts when it has any (CJK text needs them), then the packed fallback font.
    writeFileSync(
      join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${join(target, 'fonts', 'fonts')}</dir>\n  <cachedir>${join(target, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
    );
    try {
      renameSync(staging, target);
    } catch (e) {
      // Another test file finished the same extraction first.
      if (!existsSync(join(target, 'chromium'))) throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
