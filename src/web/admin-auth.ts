import { createHash, timingSafeEqual } from 'node:crypto';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Db } from '../store/db.js';
import type { AdminAuth } from './context.js';
import { closeSession, openSession, sessionValid, SESSION_TTL_MS } from './login.js';
import { clientOf } from './client.js';
import { MIN_ADMIN_TOKEN } from './settings.js';

/** The admin session's cookie (opened by /dashboard/login or a bot login link). */
export const SESSION_COOKIE = 'kequn_dash';

/** Compares secrets in the same time whatever they are (hashed first, so lengths do not show). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * The admin login shared by the dashboard, /api/members and (in staging) the sandbox pages:
 * `Authorization: Bearer $KEQUN_ADMIN_TOKEN` on a request, or the session cookie the dashboard's
 * login form or an owner's one-time link opened. A request that sends a bearer is judged by it
 * alone. Without KEQUN_ADMIN_TOKEN (16+ characters) no bearer opens anything.
 */
export function adminAuth(deps: { db: Db; now: () => number; env?: NodeJS.ProcessEnv }): AdminAuth {
  const app = deps;
  const token = (deps.env ?? process.env).KEQUN_ADMIN_TOKEN;
  const tokenOn = !!token && token.length >= MIN_ADMIN_TOKEN;
  const now = deps.now;
  const tokenMatches = (given: string) => tokenOn && sameSecret(given, token!);
  return {
    tokenOn,
    tokenMatches,
    authed(c) {
      const bearer = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      if (bearer !== undefined) return tokenMatches(bearer);
      const sid = getCookie(c, SESSION_COOKIE);
      return sid !== undefined && sessionValid(app.db, sid, now());
    },
    startSession(c, memberId) {
      setCookie(c, SESSION_COOKIE, openSession(app.db, { memberId, now: now() }), {
        httpOnly: true,
        sameSite: 'Strict',
        // The whole site: the dashboard, /api/members and the staging sandbox pages share the login.
        path: '/',
        maxAge: SESSION_TTL_MS / 1000,
        // HTTPS as the browser saw it: the server's own TLS, or a trusted proxy's X-Forwarded-Proto.
        secure: clientOf(c).https,
      });
    },
    endSession(c) {
      const sid = getCookie(c, SESSION_COOKIE);
      if (sid) closeSession(app.db, sid);
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
    },
  };
}

export type { AdminAuth };
