import { EnvError } from '../config/env-error.js';
import type { CourseConfig } from '../core/types.js';
import { AddressList, addressSpecProblem, hostNameProblem } from '../util/address-list.js';

/** Host names every kequn answers to: the machine itself. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

/** Shortest KEQUN_ADMIN_TOKEN accepted (a shorter one could be guessed). */
export const MIN_ADMIN_TOKEN = 16;

/** What the environment says about the web server, checked once at start (`kequn start`). */
export interface WebEnv {
  /** KEQUN_HOST: the address to listen on (overrides web.host). */
  host?: string;
  /** KEQUN_PORT (overrides web.port). */
  port?: number;
  /** KEQUN_ALLOWED_HOSTS, comma-separated (replaces web.allowed_hosts). */
  allowedHosts?: string[];
  /** KEQUN_TRUST_PROXY, comma-separated (replaces web.trust_proxy). */
  trustProxy?: string[];
  /** KEQUN_STAGING=1: the sandbox payment provider is allowed beside a real platform. */
  staging: boolean;
}

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Reads and checks the web server's environment variables; a bad one is an EnvError naming it.
 * Pure: no side effects (DESIGN.md principle 7).
 *
 * @example webEnvFromEnv({ KEQUN_TRUST_PROXY: '127.0.0.1', KEQUN_STAGING: '1' })
 *   // { trustProxy: ['127.0.0.1'], staging: true }
 */
export function webEnvFromEnv(env: NodeJS.ProcessEnv): WebEnv {
  const out: WebEnv = { staging: false };
  if (env.KEQUN_HOST !== undefined) {
    if (!env.KEQUN_HOST.trim()) throw new EnvError('KEQUN_HOST is empty: give the address to listen on, e.g. 127.0.0.1 (or unset it)');
    out.host = env.KEQUN_HOST.trim();
  }
  if (env.KEQUN_PORT !== undefined) {
    const raw = env.KEQUN_PORT.trim();
    const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(port) || port > 65535) throw new EnvError(`KEQUN_PORT must be a port number (0-65535), got "${env.KEQUN_PORT}"`);
    out.port = port;
  }
  if (env.KEQUN_ALLOWED_HOSTS !== undefined) {
    out.allowedHosts = list(env.KEQUN_ALLOWED_HOSTS);
    for (const h of out.allowedHosts) {
      const p = hostNameProblem(h);
      if (p) throw new EnvError(`KEQUN_ALLOWED_HOSTS: ${p}`);
    }
  }
  if (env.KEQUN_TRUST_PROXY !== undefined) {
    out.trustProxy = list(env.KEQUN_TRUST_PROXY);
    for (const s of out.trustProxy) {
      const p = addressSpecProblem(s);
      if (p) throw new EnvError(`KEQUN_TRUST_PROXY: ${p}`);
    }
  }
  const staging = env.KEQUN_STAGING?.trim().toLowerCase();
  if (staging !== undefined && staging !== '') {
    if (!['1', 'true', '0', 'false'].includes(staging)) throw new EnvError(`KEQUN_STAGING must be 1 (a staging deployment) or 0, got "${env.KEQUN_STAGING}"`);
    out.staging = staging === '1' || staging === 'true';
  }
  const admin = env.KEQUN_ADMIN_TOKEN;
  if (admin !== undefined && admin !== '' && admin.length < MIN_ADMIN_TOKEN) {
    throw new EnvError(`KEQUN_ADMIN_TOKEN is ${admin.length} characters; it needs ${MIN_ADMIN_TOKEN} or more (openssl rand -hex 24), or unset it`);
  }
  const pub = env.KEQUN_PUBLIC_URL;
  if (pub !== undefined && pub !== '') {
    let u: URL | undefined;
    try {
      u = new URL(pub);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) throw new EnvError(`KEQUN_PUBLIC_URL must be an http(s) URL such as https://pay.example.com, got "${pub}"`);
  }
  return out;
}

/**
 * Who is allowed what, from the running config and the environment: the host names pages answer
 * to and the proxies whose forwarded headers are believed. Recomputed when the config changes
 * (a reload may change web.allowed_hosts, web.trust_proxy or payments.public_url).
 */
export interface WebPolicy {
  /** Host names (lower case, without port) the pages and admin API answer to. */
  allowedHosts: ReadonlySet<string>;
  /** Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed. */
  trustProxy: AddressList;
}

/** The host name (lower case, no port) of a URL, bracketed for IPv6, or undefined. */
export function hostOfUrl(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

export function webPolicy(config: CourseConfig, webEnv: WebEnv, extraHosts: readonly string[] = []): WebPolicy {
  const configured = webEnv.allowedHosts ?? config.web.allowed_hosts ?? [];
  // Links the bot sends (checkout, the owner's dashboard login) start with the public URL: its
  // host must open them, or a login link opened as sent gets 403.
  const publicHost = hostOfUrl(config.publicUrl);
  const allowedHosts = new Set([...LOOPBACK_NAMES, ...configured, ...extraHosts, ...(publicHost ? [publicHost] : [])].map((h) => h.trim().toLowerCase()));
  return { allowedHosts, trustProxy: new AddressList(webEnv.trustProxy ?? config.web.trust_proxy ?? []) };
}
