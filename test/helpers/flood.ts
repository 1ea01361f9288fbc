/**
 * Floods driven through a real kequn (createApp: the simulated WeChat over the real Wechaty
 * adapter, the real Engine, Outbox and platform actions, a SQLite file, a VirtualClock) and what
 * the bot did in answer, counted from what it queued and what the simulated WeChat received.
 * Used at full size by the hostile drill (test/drills/hostile/flood.ts) and smaller by
 * test/integration/flood.test.ts; each run reports numbers, the caller decides what is a problem.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, waitReady, type App } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { localDayStart } from '../../src/util/localtime.js';

const COURSE = fileURLToPath(new URL('../fixtures/course', import.meta.url));
export const ROOM = 'python-101@chatroom';
const ROOM_NAME = 'Python 入门体验群';
/** Instructors and assistants of the fixture course, by WeChat id: where escalations go. */
export const STAFF_CHATS = ['teacher', 'assistant-li'];

export interface FloodKequn {
  app: App;
  clock: VirtualClock;
  config: CourseConfig;
  /** The largest sent-today-plus-queued seen by check(), and the cap it is held to. */
  peak: { queued: number; cap: number };
  /** Records sent today + pending now against the daily cap (call as often as you like). */
  check(): void;
  /** Moves virtual time to `t`, running due jobs and sends on the way (the kernel's own loop). */
  runTo(t: number): Promise<void>;
  /** Hands the kernel an event as the adapter would, and waits for it to be handled. */
  handle(event: ChatEvent): Promise<void>;
  /** `user` joins the trial group through the simulated WeChat; resolves when handled. */
  join(user: string, name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A kequn on the fixture course, in a temp folder. `edit` changes kequn.yaml first (a smaller
 * daily cap, say); the default pacing is the fixture's, which is the shipped default.
 */
export async function floodKequn(opts: { start?: number; edit?: (yaml: string) => string } = {}): Promise<FloodKequn> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-flood-'));
  const course = join(dir, 'course');
  cpSync(COURSE, course, { recursive: true });
  if (opts.edit) writeFileSync(join(course, 'kequn.yaml'), opts.edit(readFileSync(join(course, 'kequn.yaml'), 'utf8')));
  const dbPath = join(dir, 'kequn.db');
  const config = loadConfig(course, { env: { KEQUN_DATA: dbPath } });
  const clock = new VirtualClock(opts.start ?? Date.parse('2026-03-02T10:00:00+08:00'));
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const peak = { queued: 0, cap: config.outbox.daily_cap };
  const handled = (match: (e: ChatEvent) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the event was not handled within 5 s')), 5000);
      const l = (e: ChatEvent) => {
        if (!match(e)) return;
        clearTimeout(timer);
        app.kernel.off('handled', l);
        resolve();
      };
      app.kernel.on('handled', l);
    });
  const f: FloodKequn = {
    app,
    clock,
    config,
    peak,
    check() {
      const dayStart = localDayStart(clock.now(), config.course.timezone);
      const r = app.db
        .prepare("SELECT COUNT(*) AS n FROM outbox WHERE platform = 'wechat' AND (status IN ('pending', 'sending') OR (status = 'sent' AND sent_at >= ?))")
        .get(dayStart) as { n: number };
      peak.queued = Math.max(peak.queued, r.n);
    },
    async runTo(t) {
      await app.kernel.runUntil(t);
      f.check();
    },
    async handle(event) {
      const done = handled((e) => e.eventId === event.eventId);
      void app.kernel.handle(event);
      await done;
      f.check();
    },
    async join(user, name) {
      app.sim!.user(user, name);
      const done = handled((e) => e.type === 'member.joined' && e.user.id === user);
      app.sim!.join(user, ROOM);
      await done;
      f.check();
    },
    async stop() {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return f;
}

let seq = 0;

export function groupMessage(user: string, name: string, text: string, at: number): ChatEvent {
  return { type: 'message', platform: 'wechat', eventId: `flood:${++seq}`, at, chat: { kind: 'group', group: { id: ROOM, name: ROOM_NAME } }, user: { id: user, name }, text, mentionsBot: false, contentKind: 'text' };
}

export function privateMessage(user: string, name: string, text: string, at: number): ChatEvent {
  return { type: 'message', platform: 'wechat', eventId: `flood:${++seq}`, at, chat: { kind: 'dm' }, user: { id: user, name }, text, mentionsBot: false, contentKind: 'text' };
}

/** Questions no FAQ entry answers, each different. */
function unanswerable(i: number): string {
  return `第 ${i} 个问题：量子退火算法第 ${i} 步的哈密顿量怎么选？`;
}

interface Queued {
  id: number;
  chat_kind: 'group' | 'dm';
  chat_id: string;
  text: string;
  status: string;
  created_at: number;
  rule_id: string | null;
}

function queuedSince(app: App, afterId: number): Queued[] {
  return app.db.prepare('SELECT id, chat_kind, chat_id, text, status, created_at, rule_id FROM outbox WHERE id > ? ORDER BY id').all(afterId) as Queued[];
}

function lastOutboxId(app: App): number {
  return (app.db.prepare('SELECT COALESCE(MAX(id), 0) AS n FROM outbox').get() as { n: number }).n;
}

export interface DmFloodReport {
  questions: number;
  /** When the newcomer's group welcome and private welcome arrived, ms after the join (undefined: not within the run). */
  welcomeGroupMs: number | undefined;
  welcomeDmMs: number | undefined;
  /** Messages the instructors received (each staff chat counted). */
  staffMessages: number;
  /** Messages the bot queued in all during the run. */
  queued: number;
  /** Messages to the flooder. */
  toFlooder: number;
  peak: { queued: number; cap: number };
}

/**
 * One member sends `questions` unanswerable questions privately within `seconds`; another joins
 * the trial group `joinAfter` ms into it. Runs on `settle` ms after the last question.
 */
export async function dmFlood(f: FloodKequn, opts: { questions: number; seconds: number; joinAfter: number; settle: number }): Promise<DmFloodReport> {
  const { app, clock } = f;
  const start = clock.now();
  const first = lastOutboxId(app);
  const sentBefore = app.sim!.sent.length;
  app.sim!.user('flooder', '刷屏者');
  let joinedAt: number | undefined;
  for (let i = 0; i < opts.questions; i++) {
    const at = start + Math.floor((i * opts.seconds * 1000) / opts.questions);
    if (joinedAt === undefined && at >= start + opts.joinAfter) {
      await f.runTo(start + opts.joinAfter);
      joinedAt = clock.now();
      await f.join('newbie', '新同学');
    }
    await f.runTo(at);
    await f.handle(privateMessage('flooder', '刷屏者', unanswerable(i + 1), at));
  }
  await f.runTo(clock.now() + opts.settle);
  const sent = app.sim!.sent.slice(sentBefore);
  const after = (pred: (s: (typeof sent)[number]) => boolean) => {
    const s = sent.find(pred);
    return s && joinedAt !== undefined ? s.at - joinedAt : undefined;
  };
  return {
    questions: opts.questions,
    welcomeGroupMs: after((s) => s.chatKind === 'group' && s.chatId === ROOM && s.text.includes('欢迎 新同学')),
    welcomeDmMs: after((s) => s.chatKind === 'dm' && s.chatId === 'newbie' && s.text.includes('新同学 你好')),
    staffMessages: sent.filter((s) => s.chatKind === 'dm' && STAFF_CHATS.includes(s.chatId)).length,
    queued: queuedSince(app, first).length,
    toFlooder: queuedSince(app, first).filter((r) => r.chat_id === 'flooder').length,
    peak: { ...f.peak },
  };
}

export interface WelcomeBehindReport {
  queuedAhead: number;
  welcomeGroupMs: number | undefined;
  welcomeDmMs: number | undefined;
}

/**
 * `n` escalations already queued for the instructors, then a newcomer joins. One is a real
 * escalation (a member asks something the FAQ cannot answer); the rest are copies of it in the
 * same lane, as many members asking would leave them (the limits and merging keep one member
 * from queueing that many, so they are written straight into the outbox).
 */
export async function welcomeBehind(f: FloodKequn, opts: { n: number }): Promise<WelcomeBehindReport> {
  const { app, clock } = f;
  const first = lastOutboxId(app);
  await f.handle(privateMessage('asker', '提问者', unanswerable(0), clock.now()));
  const real = app.db.prepare('SELECT priority FROM outbox WHERE id > ? AND chat_id = ?').get(first, STAFF_CHATS[0]) as { priority: string } | undefined;
  if (!real) throw new Error('the question was not escalated to the instructors');
  const now = clock.now();
  const insert = app.db.prepare(
    "INSERT INTO outbox (platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, event_id, rule_id, created_at) VALUES ('wechat', 'dm', ?, NULL, NULL, ?, ?, 'pending', ?, NULL, 'answer-questions', ?)",
  );
  app.db.transaction(() => {
    for (let i = 2; i < opts.n; i++) insert.run(STAFF_CHATS[i % 2], `❓ Q${i + 1} 某同学提问：${unanswerable(i + 1)}`, real.priority, now, now);
  })();
  const sentBefore = app.sim!.sent.length;
  const joinedAt = clock.now();
  await f.join('newbie', '新同学');
  await f.runTo(joinedAt + 60_000);
  const sent = app.sim!.sent.slice(sentBefore);
  const at = (pred: (s: (typeof sent)[number]) => boolean) => {
    const s = sent.find(pred);
    return s ? s.at - joinedAt : undefined;
  };
  return {
    queuedAhead: opts.n,
    welcomeGroupMs: at((s) => s.chatKind === 'group' && s.text.includes('欢迎 新同学')),
    welcomeDmMs: at((s) => s.chatKind === 'dm' && s.chatId === 'newbie' && s.text.includes('新同学 你好')),
  };
}

export interface GroupFloodReport {
  messages: number;
  /** Offences recorded for the flooder, oldest first. */
  moderation: { action: string; reason: string }[];
  /** Whether the simulated WeChat saw the bot remove the flooder from the room. */
  removed: boolean;
  /** Questions of the flooder that went to the staff. */
  escalated: number;
  staffMessages: number;
  /** Messages the bot queued for the group during the flood (warnings, notices, replies). */
  toGroup: number;
  queued: number;
}

/** One member of the trial group (moderation on) sends `messages` questions within `seconds`. */
export async function groupFlood(f: FloodKequn, opts: { messages: number; seconds: number; settle: number }): Promise<GroupFloodReport> {
  const { app, clock } = f;
  await f.join('spammer', '刷屏者');
  await f.runTo(clock.now() + 60_000);
  const start = clock.now();
  const first = lastOutboxId(app);
  const sentBefore = app.sim!.sent.length;
  for (let i = 0; i < opts.messages; i++) {
    const at = start + Math.floor((i * opts.seconds * 1000) / opts.messages);
    await f.runTo(at);
    await f.handle(groupMessage('spammer', '刷屏者', unanswerable(i + 1), at));
  }
  await f.runTo(clock.now() + opts.settle);
  const member = app.db.prepare("SELECT member_id FROM identities WHERE platform = 'wechat' AND platform_id = 'spammer'").get() as { member_id: string };
  const queued = queuedSince(app, first);
  return {
    messages: opts.messages,
    moderation: app.db.prepare('SELECT action, reason FROM moderation_log WHERE member_id = ? ORDER BY id').all(member.member_id) as { action: string; reason: string }[],
    removed: app.sim!.removed.some((r) => r.userId === 'spammer'),
    escalated: (app.db.prepare("SELECT COUNT(*) AS n FROM questions WHERE member_id = ? AND status IN ('escalated', 'resolved')").get(member.member_id) as { n: number }).n,
    staffMessages: app.sim!.sent.slice(sentBefore).filter((s) => s.chatKind === 'dm' && STAFF_CHATS.includes(s.chatId)).length,
    toGroup: queued.filter((r) => r.chat_kind === 'group').length,
    queued: queued.length,
  };
}

export interface SoakReport {
  members: number;
  /** Messages the members sent (delivered to the bot). */
  messages: number;
  rejoins: number;
  /** Messages the bot queued during the soak, all told and to the group. */
  queued: number;
  toGroup: number;
  removals: number;
  /** Per member: when each warning announced to the group was queued. */
  warningsAnnounced: Map<string, number[]>;
  /** Removal notices the group got (alone or in a merged message), per member, and removals logged per member. */
  removalNotices: Map<string, number>;
  removalsLogged: Map<string, number>;
  /** Queue times of the bot's moderation messages to the group, oldest first. */
  groupModerationAt: number[];
  /** Member-facing messages that print an internal member key (m_…). */
  withMemberKeys: string[];
  /** Removals of a member who had been removed before, and how many warnings they got in between. */
  returningRemovals: { member: string; warningsBetween: number }[];
}

/** Member-facing: everything not to a staff chat. */
const MEMBER_KEY = /\bm_[0-9a-f]{8,}\b/;

/**
 * `members` members of the trial group chat repetitively for `minutes`: `perSecond` messages a
 * second in all, round the members. A removed member comes back `rejoinAfter` ms later; with
 * `afterRemoval` their messages in between still reach the bot (a removal the platform has not
 * carried out yet, or a group where the bot cannot remove anyone), else they are silent.
 * Messages go straight to the kernel as the adapter hands them over (9,000 through the mock
 * puppet would take minutes); joins go through the simulated WeChat.
 */
export async function soak(
  f: FloodKequn,
  opts: { members: number; minutes: number; perSecond: number; rejoinAfter: number; afterRemoval: boolean },
): Promise<SoakReport> {
  const { app, clock } = f;
  const name = (i: number) => `学员${i}`;
  for (let i = 0; i < opts.members; i++) await f.join(`u${i}`, name(i));
  await f.runTo(clock.now() + 1000);
  const first = lastOutboxId(app);
  const firstNotice = (app.db.prepare('SELECT COALESCE(MAX(id), 0) AS n FROM notices').get() as { n: number }).n;
  const removedBefore = app.sim!.removed.length;
  const phrases = ['老师这个怎么安装？', '大家好呀', '我也是我也是', '哈哈哈哈哈哈', '这个作业怎么交？', '有没有人一起学', '收到收到收到', '求资料求资料'];
  const gone = new Map<string, number>();
  let messages = 0;
  let rejoins = 0;
  const base = clock.now();
  for (let sec = 0; sec < opts.minutes * 60; sec++) {
    await f.runTo(base + sec * 1000);
    for (const [u, since] of gone) {
      if (clock.now() - since < opts.rejoinAfter) continue;
      gone.delete(u);
      await f.join(u, name(Number(u.slice(1))));
      rejoins++;
    }
    for (let j = 0; j < opts.perSecond; j++) {
      const k = sec * opts.perSecond + j;
      const i = (k * 7919) % opts.members;
      const u = `u${i}`;
      if (!app.sim!.isMember(ROOM, u)) {
        if (!gone.has(u)) gone.set(u, clock.now());
        if (!opts.afterRemoval) continue;
      }
      const at = base + sec * 1000 + Math.floor((j * 1000) / opts.perSecond);
      if (at > clock.now()) clock.set(at);
      await app.kernel.handle(groupMessage(u, name(i), phrases[(k * 7 + i) % phrases.length]!, at));
      messages++;
    }
    f.check();
  }
  await f.runTo(clock.now() + 5 * 60_000);
  const queued = queuedSince(app, first);
  const memberFacing = queued.filter((r) => !(r.chat_kind === 'dm' && STAFF_CHATS.includes(r.chat_id)));
  const toGroup = queued.filter((r) => r.chat_kind === 'group' && r.chat_id === ROOM);
  // What the group was told, notice by notice (a merged message lists at most 20 of them; the
  // notices table has each): the fixture's templates are mod_warn "⚠️ @{name} …次警告…" and
  // mod_removed "{name} 因…已被移出本群".
  const notices = app.db
    .prepare("SELECT i.display_name AS name, n.text, n.created_at, n.sent_at FROM notices n JOIN identities i ON i.member_id = n.member_id AND i.platform = 'wechat' WHERE n.topic = 'moderation' AND n.chat_id = ? AND n.id > ? ORDER BY n.id")
    .all(ROOM, firstNotice) as { name: string; text: string; created_at: number; sent_at: number | null }[];
  const warningsAnnounced = new Map<string, number[]>();
  const removalNotices = new Map<string, number>();
  for (const n of notices) {
    if (n.sent_at === null) continue;
    if (n.text.includes('次警告')) warningsAnnounced.set(n.name, [...(warningsAnnounced.get(n.name) ?? []), n.created_at]);
    if (n.text.includes('已被移出本群')) removalNotices.set(n.name, (removalNotices.get(n.name) ?? 0) + 1);
  }
  const groupModerationAt = toGroup.filter((r) => r.rule_id === 'moderate-spam' || r.rule_id === 'job:notices.flush').map((r) => r.created_at);
  const log = app.db
    .prepare("SELECT i.display_name AS name, m.action, m.at FROM moderation_log m JOIN identities i ON i.member_id = m.member_id AND i.platform = 'wechat' WHERE m.action IN ('warn', 'remove') ORDER BY m.id")
    .all() as { name: string; action: string; at: number }[];
  const removalsLogged = new Map<string, number>();
  const returningRemovals: { member: string; warningsBetween: number }[] = [];
  const warnsSinceRemoval = new Map<string, number>();
  for (const l of log) {
    if (l.action === 'warn') {
      warnsSinceRemoval.set(l.name, (warnsSinceRemoval.get(l.name) ?? 0) + 1);
      continue;
    }
    const before = removalsLogged.get(l.name) ?? 0;
    if (before > 0) returningRemovals.push({ member: l.name, warningsBetween: warnsSinceRemoval.get(l.name) ?? 0 });
    removalsLogged.set(l.name, before + 1);
    warnsSinceRemoval.set(l.name, 0);
  }
  return {
    members: opts.members,
    messages,
    rejoins,
    queued: queued.length,
    toGroup: toGroup.length,
    removals: app.sim!.removed.length - removedBefore,
    warningsAnnounced,
    removalNotices,
    removalsLogged,
    groupModerationAt,
    withMemberKeys: memberFacing.filter((r) => MEMBER_KEY.test(r.text)).map((r) => r.text.slice(0, 80)),
    returningRemovals,
  };
}
