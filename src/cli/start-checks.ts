import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EnvError } from '../config/env-error.js';
import type { CourseConfig } from '../core/types.js';
import { clusterFromEnv, ClusterEnvError, type ClusterSettings } from '../bot/cluster.js';
import { telegramModeFromEnv, wechatModeFromEnv, type TelegramMode, type WeChatMode } from '../app.js';
import { isPostgresUrl } from '../store/url.js';
import { webEnvFromEnv, type WebEnv } from '../web/settings.js';

/**
 * What `kequn start` needs to know before anything opens, and the checks that make each problem
 * one clear line and exit code 2 instead of a stack trace after the bot has started (issue 22,
 * item 9): the environment, the payment provider against the platforms, the port, the store.
 */
export interface StartEnv {
  wechat: WeChatMode;
  telegram: TelegramMode | undefined;
  cluster: ClusterSettings;
  web: WebEnv;
}

/** Every environment variable `kequn start` reads, checked; the first problem as one line. */
export function readStartEnv(env: NodeJS.ProcessEnv): { ok: true; env: StartEnv } | { ok: false; problem: string } {
  try {
    return { ok: true, env: { wechat: wechatModeFromEnv(env), telegram: telegramModeFromEnv(env), cluster: clusterFromEnv(env), web: webEnvFromEnv(env) } };
  } catch (e) {
    if (e instanceof EnvError || e instanceof ClusterEnvError) return { ok: false, problem: e.message };
    throw e;
  }
}

/**
 * The sandbox beside a real WeChat account: anyone with a member's checkout link would "pay"
 * without money and get the paid course. Refused unless KEQUN_STAGING=1 says this is a staging
 * deployment (then the sandbox pages need the admin login). Telegram buyers pay in Stars, never
 * through the sandbox, so a Telegram bot alone is not refused (the sandbox stays closed there).
 */
export function sandboxRefusal(config: CourseConfig, start: StartEnv): string | undefined {
  if (config.catalog.payments.provider !== 'sandbox' || start.web.staging) return undefined;
  if (start.wechat.kind !== 'service' || Object.keys(config.catalog.products).length === 0) return undefined;
  return 'cannot start: payments.provider is sandbox (a fake WeChat Pay: anyone could "pay" a checkout link without money) but a real WeChat account is configured; set provider: wechatpay in catalog.yaml (docs/payments.md), or KEQUN_STAGING=1 for a staging deployment whose sandbox pages need the admin login';
}

/** Why the web server cannot listen, as one line. */
export function listenProblem(err: NodeJS.ErrnoException, host: string, port: number): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `cannot start: port ${port} on ${host} is in use (another kequn or program listens there); stop it, or set KEQUN_PORT (or web.port) to a free port`;
    case 'EACCES':
      return `cannot start: not allowed to listen on ${host}:${port} (ports below 1024 need privileges); set KEQUN_PORT (or web.port) to 1024 or above`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot start: ${host} is not an address of this machine; set KEQUN_HOST (or web.host) to one, e.g. 127.0.0.1`;
    default:
      return `cannot start: cannot listen on ${host}:${port}: ${err.message}`;
  }
}

/** Why the SQLite store cannot be opened at `dataPath` (undefined: nothing seen; PostgreSQL is checked by connecting). */
export function storePathProblem(dataPath: string): string | undefined {
  if (dataPath === ':memory:' || isPostgresUrl(dataPath)) return undefined;
  const stat = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  };
  const here = stat(dataPath);
  if (here?.isDirectory()) return `cannot start: the store ${dataPath} is a directory; KEQUN_DATA (or data: in kequn.yaml) names the SQLite file itself, e.g. ${join(dataPath, 'kequn.db')}`;
  if (here) {
    try {
      accessSync(dataPath, constants.R_OK | constants.W_OK);
    } catch {
      return `cannot start: the store ${dataPath} is not readable and writable by this user`;
    }
    return undefined;
  }
  // The folders are created on a fresh install; one of them being a file is not something to fix by creating.
  for (let dir = dirname(dataPath); dir !== dirname(dir); dir = dirname(dir)) {
    const s = stat(dir);
    if (!s) continue;
    if (!s.isDirectory()) return `cannot start: the store ${dataPath} cannot be created: ${dir} is a file, not a folder`;
    break;
  }
  return undefined;
}
