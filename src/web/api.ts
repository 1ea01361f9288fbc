import { Hono, type Context } from 'hono';
import type { Logger } from 'pino';
import { z } from 'zod';
import { simulatedRoomId, type App } from '../app.js';
import type { SimActivity, SimulatedWeChat } from '../bot/simulator.js';
import { SIM_BOT_ID } from '../bot/simulator-ids.js';
import type { CourseConfig } from '../core/types.js';
import { OffsetClock, type Clock } from '../core/schedule/clock.js';
import { recordClockOffset } from '../core/schedule/store-clock.js';
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

const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id 只能用字母、数字、_ 和 -（1-64 个）');
const textSchema = z
  .string()
  .max(MAX_SAY_CHARS, `消息超过了 ${MAX_SAY_CHARS} 个字`)
  .refine((t) => t.trim().length > 0, '消息是空的');

const bodies = {
  users: z.strictObject({
    id: idSchema,
    name: z
      .string()
      .trim()
      .min(1, '昵称是空的')
      .max(64, '昵称超过了 64 个字')
      // eslint-disable-next-line no-control-regex
      .refine((n) => !/[\u0000-\u001f\u007f]/.test(n), '昵称里有控制字符'),
  }),
  membership: z.strictObject({ user: idSchema, group: z.string().min(1).max(64) }),
  say: z
    .strictObject({ user: idSchema, group: z.string().min(1).max(64).optional(), dm: z.boolean().optional(), text: textSchema })
    .refine((b) => (b.group !== undefined) !== (b.dm === true), '消息要么发到群里（"group": 群），要么私聊（"dm": true）'),
  advance: z.strictObject({ ms: z.number().int().positive().max(MAX_ADVANCE_MS, '一次最多快进 30 天') }),
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

/**
 * Reads and validates a JSON body; anything malformed is a 400 before any state is touched. The
 * messages are in Chinese: the playground page shows them as they are.
 */
async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header('content-type') ?? '';
  // Requiring JSON also makes a cross-site form or text/plain POST from a web page impossible
  // without a CORS preflight, which this server never grants.
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, '请求体请用 application/json 发送');
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new HttpError(400, '请求体不是有效的 JSON');
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
    rules: config.rules.map((r) => ({ id: r.id, description: r.description })),
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
    if (!idSchema.safeParse(id).success) throw new HttpError(400, 'id：成员号或微信 id（1-64 个字母、数字、_ 或 -）');
    const m = getMember(app.db, id) ?? findMemberByIdentity(app.db, 'wechat', id);
    if (!m) throw new HttpError(404, `没有成员「${id}」（按成员号或微信 id 查找）`);
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
    if (!app.sim) throw new HttpError(404, '只有所有平台都是模拟的（只有模拟微信）时才有练习场');
    return app.sim;
  };
  const requireReady = () => {
    if (!app.kernel.isReady()) throw new HttpError(503, '机器人还没登录好，请稍等再试');
  };
  const knownUser = (sim: SimulatedWeChat, id: string) => {
    if (!sim.users().some((u) => u.id === id)) throw new HttpError(400, `没有模拟成员「${id}」（先添加成员）`);
  };
  const knownGroup = (handle: string) => {
    const config = app.kernel.currentConfig;
    const g = config.groups[handle];
    if (!g) throw new HttpError(400, `课程里没有群「${handle}」（有：${Object.keys(config.groups).join('、')}）`);
    return { roomId: roomIdOf(config, handle), name: g.name };
  };

  pg.get('/state', (c) => c.json(playgroundState(deps, requireSim())));

  pg.post('/users', async (c) => {
    const sim = requireSim();
    const b = await body(c, bodies.users);
    if (b.id === SIM_BOT_ID || sim.users().some((u) => u.id === b.id)) throw new HttpError(409, `成员「${b.id}」已经存在`);
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
    if (sim.isMember(g.roomId, b.user)) throw new HttpError(409, `${b.user} 已经在 ${b.group} 里了`);
    sim.join(b.user, g.roomId);
    return c.json({ ok: true });
  });

  pg.post('/leave', async (c) => {
    const sim = requireSim();
    const b = await body(c, bodies.membership);
    knownUser(sim, b.user);
    const g = knownGroup(b.group);
    requireReady();
    if (!sim.isMember(g.roomId, b.user)) throw new HttpError(409, `${b.user} 不在 ${b.group} 里`);
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
      if (!sim.isMember(g.roomId, b.user)) throw new HttpError(409, `${b.user} 不在 ${b.group} 里：先加入本群`);
      sim.say(b.user, { roomId: g.roomId }, b.text);
    } else {
      requireReady();
      if (!sim.isFriend(b.user)) throw new HttpError(409, `${b.user} 还不是机器人微信号的好友：微信里只有好友才能私聊（先加好友）`);
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
    if (!(clock instanceof OffsetClock)) throw new HttpError(409, '这个时钟不能快进（只有练习场的模拟时钟可以）');
    clock.advance(b.ms);
    // The store keeps the offset: `kequn stats` and a restarted playground read the same "now".
    recordClockOffset(app.db, clock.offsetMs);
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
