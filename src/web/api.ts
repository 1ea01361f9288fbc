import { Hono, type Context } from 'hono';
import type { Logger } from 'pino';
import { z } from 'zod';
import { simulatedRoomId, type App } from '../app.js';
import type { SimActivity, SimulatedWeChat } from '../bot/simulator.js';
import { SIM_BOT_ID } from '../bot/simulator-ids.js';
import type { CourseConfig } from '../core/types.js';
import { OffsetClock, type Clock } from '../core/schedule/clock.js';
import { nextJobDueAt } from '../store/jobs.js';
import { findMemberByIdentity, getMember, identitiesOf, activeGroupsOf, stageHistory, tagsOf, type Member } from '../store/members.js';
import { outboxCounts } from '../store/outbox.js';
import { recentTraces } from '../store/traces.js';
import { effectiveRole } from '../core/roles.js';
import type { AdminAuth } from './admin-auth.js';
import { cleanName } from '../util/display-text.js';
import { befriend, befriendBody, channelSummary, memberChannel } from './playground-channel.js';

export interface ApiDeps {
  app: App;
  clock: Clock;
  log: Logger;
}

/** Longest message a simulated member may type (the adapter keeps at most this much anyway). */
export const MAX_SAY_CHARS = 4000;
/** Lines per chat in the playground state; older lines stay in the simulator but are not sent. */
const LINES_PER_CHAT = 300;
/** The fast-forward moves the clock by at most this much per call. */
const MAX_ADVANCE_MS = 30 * 86_400_000;
const TRACES_PER_MEMBER = 40;

const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 letters, digits, _ or -');
const textSchema = z
  .string()
  .max(MAX_SAY_CHARS, `text is longer than ${MAX_SAY_CHARS} characters`)
  .refine((t) => t.trim().length > 0, 'text is empty');

const bodies = {
  users: z.strictObject({
    id: idSchema,
    name: z
      .string()
      .trim()
      .min(1, 'name is empty')
      .max(64, 'name is longer than 64 characters')
      // eslint-disable-next-line no-control-regex
      .refine((n) => !/[\u0000-\u001f\u007f]/.test(n), 'name contains control characters'),
  }),
  membership: z.strictObject({ user: idSchema, group: z.string().min(1).max(64) }),
  say: z
    .strictObject({ user: idSchema, group: z.string().min(1).max(64).optional(), dm: z.boolean().optional(), text: textSchema })
    .refine((b) => (b.group !== undefined) !== (b.dm === true), 'say goes either to a group ("group": handle) or privately ("dm": true)'),
  advance: z.strictObject({ ms: z.number().int().positive().max(MAX_ADVANCE_MS, 'at most 30 days per step') }),
};

/** An error with the status and message the client gets (`{ error }`). */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 415 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** Reads and validates a JSON body; anything malformed is a 400 before any state is touched. */
async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header('content-type') ?? '';
  // Requiring JSON also makes a cross-site form or text/plain POST from a web page impossible
  // without a CORS preflight, which this server never grants.
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'send the body as application/json');
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw new HttpError(400, path ? `${path}: ${issue.message}` : issue.message);
  }
  return r.data;
}

/** The room id the simulator uses for a course group. */
export function roomIdOf(config: CourseConfig, handle: string): string {
  return config.groups[handle]?.wechat ?? simulatedRoomId(handle);
}

function memberSummary(m: Member | undefined) {
  return m ? { memberId: m.id, stage: m.stage, stageSince: m.stage_since } : null;
}

interface Line {
  n: number;
  kind: SimActivity['kind'];
  userId: string | null;
  name: string;
  text: string;
  at: number;
}

/** Everything the playground page renders, in one poll. */
export function playgroundState(deps: ApiDeps, sim: SimulatedWeChat) {
  const { app, clock } = deps;
  const config = app.kernel.currentConfig;
  const db = app.db;
  const users = sim.users();
  // Names as kequn would store them (src/util/display-text.ts): no bidi override reaches the page.
  const names = new Map(users.map((u) => [u.id, cleanName(u.name)]));
  const groupEntries = Object.entries(config.groups);
  const handleOfRoom = new Map(groupEntries.map(([h]) => [roomIdOf(config, h), h]));

  const chats: Record<string, Line[]> = {};
  for (const a of sim.activity) {
    let key: string;
    if (a.chatKind === 'dm') key = `dm:${a.chatId}`;
    else {
      const h = handleOfRoom.get(a.chatId);
      if (h === undefined) continue;
      key = `group:${h}`;
    }
    (chats[key] ??= []).push({
      n: a.n,
      kind: a.kind,
      userId: a.userId,
      name: a.userId === null ? config.course.bot_name : (names.get(a.userId) ?? a.userId),
      text: a.text,
      at: a.at,
    });
  }
  for (const [k, lines] of Object.entries(chats)) if (lines.length > LINES_PER_CHAT) chats[k] = lines.slice(-LINES_PER_CHAT);

  const outbox = outboxCounts(db);
  return {
    course: { name: config.course.name, botName: config.course.bot_name, timezone: config.course.timezone },
    ready: app.kernel.isReady(),
    clock: {
      now: clock.now(),
      offsetMs: clock instanceof OffsetClock ? clock.offsetMs : null,
      canAdvance: clock instanceof OffsetClock,
    },
    queue: { pending: outbox.pending ?? 0, nextJobAt: nextJobDueAt(db) ?? null },
    stages: config.stages.map((s) => ({ id: s.id, phase: s.phase ?? null })),
    groups: groupEntries.map(([handle, g]) => {
      const roomId = roomIdOf(config, handle);
      return { handle, name: g.name, kind: g.kind, roomId, members: users.filter((u) => sim.isMember(roomId, u.id)).map((u) => u.id) };
    }),
    users: users.map((u) => {
      const m = findMemberByIdentity(db, 'wechat', u.id);
      return { id: u.id, name: cleanName(u.name), role: effectiveRole(db, config, 'wechat', u.id), member: memberSummary(m), tags: m ? tagsOf(db, m.id) : [], ...channelSummary(db, sim, u.id) };
    }),
    chats,
  };
}

/** A member with the record behind it: stage history and the latest rule traces ("why"). */
export function memberDetail(deps: ApiDeps, m: Member) {
  const db = deps.app.db;
  return {
    // Normalised again on the way out: a name stored before normalisation existed is shown clean too.
    member: { id: m.id, displayName: cleanName(m.display_name), stage: m.stage, stageSince: m.stage_since, createdAt: m.created_at, lastSeenAt: m.last_seen_at },
    identities: identitiesOf(db, m.id).map((i) => ({ platform: i.platform, platformId: i.platform_id, displayName: cleanName(i.display_name) })),
    tags: tagsOf(db, m.id),
    groups: activeGroupsOf(db, m.id),
    channel: memberChannel(db, deps.app.kernel.currentConfig, m.id, identitiesOf(db, m.id).map((i) => ({ platform: i.platform, platformId: i.platform_id }))),
    stageHistory: stageHistory(db, m.id).map((t) => ({ from: t.from_stage, to: t.to_stage, ruleId: t.rule_id, actor: t.actor, eventId: t.event_id, at: t.at })),
    traces: recentTraces(db, m.id, TRACES_PER_MEMBER).map((t) => {
      let detail: { trigger?: string; conditions?: unknown[]; actions?: unknown[] } = {};
      try {
        detail = JSON.parse(t.detail) as typeof detail;
      } catch {
        // An unreadable detail still shows which rule matched.
      }
      return {
        id: t.id,
        at: t.at,
        ruleId: t.rule_id,
        matched: t.matched === 1,
        eventId: t.event_id,
        jobId: t.job_id,
        eventType: t.event_type,
        trigger: detail.trigger ?? null,
        conditions: detail.conditions ?? [],
        actions: detail.actions ?? [],
      };
    }),
  };
}

/**
 * The JSON API: `/playground/*` (only with `playground`: every platform simulated; the mounting
 * app keeps it to loopback host names) and `/members/:id` (the admin login: session or bearer).
 * Mount under `/api`; the mounting app turns HttpError into `{ error }` responses (see
 * createWebApp). Every POST validates its whole body before touching anything: a 4xx changes nothing.
 */
export function createApi(deps: ApiDeps & { playground: boolean; admin: AdminAuth }): Hono {
  const { app, clock, log } = deps;
  const api = new Hono();
  const lookup = (id: string) => {
    if (!idSchema.safeParse(id).success) throw new HttpError(400, 'id: member key or WeChat id of 1-64 letters, digits, _ or -');
    const m = getMember(app.db, id) ?? findMemberByIdentity(app.db, 'wechat', id);
    if (!m) throw new HttpError(404, `no member "${id}" (by member key or WeChat id)`);
    return memberDetail(deps, m);
  };

  // A member's record (names, messages, traces) is personal data: the admin's, on every deployment.
  api.get('/members/:id', (c) => {
    if (!deps.admin.authed(c)) return c.json({ error: 'log in first: Authorization: Bearer $KEQUN_ADMIN_TOKEN, or the session of /dashboard' }, 401);
    return c.json(lookup(c.req.param('id')));
  });
  if (!deps.playground) return api;

  const pg = new Hono();
  const requireSim = (): SimulatedWeChat => {
    if (!app.sim) throw new HttpError(404, 'the playground exists only when every platform is simulated (the simulated WeChat alone)');
    return app.sim;
  };
  const requireReady = () => {
    if (!app.kernel.isReady()) throw new HttpError(503, 'the bot is not logged in yet; try again in a moment');
  };
  const knownUser = (sim: SimulatedWeChat, id: string) => {
    if (!sim.users().some((u) => u.id === id)) throw new HttpError(400, `user: no simulated member "${id}" (create it first)`);
  };
  const knownGroup = (handle: string) => {
    const config = app.kernel.currentConfig;
    const g = config.groups[handle];
    if (!g) throw new HttpError(400, `group: no course group "${handle}" (groups: ${Object.keys(config.groups).join(', ')})`);
    return { roomId: roomIdOf(config, handle), name: g.name };
  };

  pg.get('/state', (c) => c.json(playgroundState(deps, requireSim())));

  pg.post('/users', async (c) => {
    const sim = requireSim();
    const b = await body(c, bodies.users);
    if (b.id === SIM_BOT_ID || sim.users().some((u) => u.id === b.id)) throw new HttpError(409, `user: "${b.id}" already exists`);
    // A new member is a stranger to the bot's account, as a newcomer in a group usually is.
    sim.user(b.id, b.name, { stranger: true });
    return c.json({ ok: true, user: { id: b.id, name: b.name } }, 201);
  });

  pg.post('/join', async (c) => {
    const sim = requireSim();
    const b = await body(c, bodies.membership);
    knownUser(sim, b.user);
    const g = knownGroup(b.group);
    requireReady();
    sim.room(g.roomId, g.name); // groups added by a config reload have no simulated room yet
    if (sim.isMember(g.roomId, b.user)) throw new HttpError(409, `${b.user} is already in ${b.group}`);
    sim.join(b.user, g.roomId);
    return c.json({ ok: true });
  });

  pg.post('/leave', async (c) => {
    const sim = requireSim();
    const b = await body(c, bodies.membership);
    knownUser(sim, b.user);
    const g = knownGroup(b.group);
    requireReady();
    if (!sim.isMember(g.roomId, b.user)) throw new HttpError(409, `${b.user} is not in ${b.group}`);
    sim.leave(b.user, g.roomId);
    return c.json({ ok: true });
  });

  pg.post('/say', async (c) => {
    const sim = requireSim();
    const b = await body(c, bodies.say);
    knownUser(sim, b.user);
    if (b.group !== undefined) {
      const g = knownGroup(b.group);
      requireReady();
      if (!sim.isMember(g.roomId, b.user)) throw new HttpError(409, `${b.user} is not in ${b.group}: join it first`);
      sim.say(b.user, { roomId: g.roomId }, b.text);
    } else {
      requireReady();
      if (!sim.isFriend(b.user)) throw new HttpError(409, `${b.user} is not a friend of the bot's account: on WeChat only friends can write privately (加好友 first)`);
      sim.say(b.user, 'bot', b.text);
    }
    return c.json({ ok: true });
  });

  pg.post('/befriend', async (c) => {
    const sim = requireSim();
    requireReady();
    return befriend(c, app.db, sim, (ctx) => body(ctx, befriendBody).then((b) => (knownUser(sim, b.user), b)), (status, message) => {
      throw new HttpError(status, message);
    });
  });

  pg.post('/advance', async (c) => {
    requireSim();
    const b = await body(c, bodies.advance);
    if (!(clock instanceof OffsetClock)) throw new HttpError(409, 'this clock cannot be fast-forwarded (only the playground\'s offset clock can)');
    clock.advance(b.ms);
    log.info({ ms: b.ms, offsetMs: clock.offsetMs }, 'playground: clock fast-forwarded');
    // Run what fell due now rather than at the next cron second.
    await app.kernel.tick();
    return c.json({ ok: true, now: clock.now(), offsetMs: clock.offsetMs });
  });

  // The playground's own view of a member: everything in it is simulated, so no login on loopback.
  pg.get('/members/:id', (c) => {
    requireSim();
    return c.json(lookup(c.req.param('id')));
  });

  api.route('/playground', pg);
  return api;
}
