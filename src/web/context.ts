/**
 * What a feature's web routes (Feature.routes) are mounted with by src/web/server.ts: the store,
 * the running config, the admin login, the exposure (which decides which routes exist), and the
 * long-lived objects the app composed (Runtime: the order service), without importing the app.
 */
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { Services } from '../core/types.js';
import type { CourseConfig } from '../core/types.js';
import type { Db } from '../store/db.js';

/**
 * The admin login shared by the dashboard, /api/members and (in staging) the sandbox pages
 * (src/web/admin-auth.ts).
 */
export interface AdminAuth {
  /** KEQUN_ADMIN_TOKEN is set (and long enough). */
  readonly tokenOn: boolean;
  authed(c: Context): boolean;
  tokenMatches(given: string): boolean;
  /** Opens a session for the browser (member: who logged in by link; null: the admin token). */
  startSession(c: Context, memberId: string | null): void;
  endSession(c: Context): void;
}

/**
 * How exposed this kequn is (docs/operations.md, "Exposure"):
 * - `embedded`: every platform is simulated (the simulated WeChat alone): the playground is on;
 * - `real`: a real platform: no playground, and the payment sandbox takes no payments;
 * - `staging`: a real platform with KEQUN_STAGING=1: the sandbox takes payments, its pages need the admin login.
 */
export type Exposure = 'embedded' | 'real' | 'staging';

/**
 * Long-lived objects the app composed, that routes use: each feature that needs one adds it here
 * by declaration merging (the orders feature: `orders`), and src/app.ts sets it.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the features
export interface Runtime {}

export interface WebContext {
  db: Db;
  config: () => CourseConfig;
  /** The app's clock (the playground's may run ahead). */
  now: () => number;
  log: Logger;
  env: NodeJS.ProcessEnv;
  admin: AdminAuth;
  exposure: Exposure;
  services: () => Services;
  runtime: Runtime;
  /** The client's address as the server trusts it (behind configured proxies only). */
  clientIp(c: Context): string;
}
