/**
 * Pipeline: member messages through kequn (adapter sink → engine with 100 rules → store → outbox
 * rows; the outbox is not dispatched, so pacing does not count) with 10,000 members in 100
 * groups, on a SQLite file. Baseline: inserting the same event rows with better-sqlite3, one
 * transaction per event, same file settings, in the same run.
 * Also: start-up time and the end-to-end rate through Wechaty on the mock puppet.
 * Run: npx tsx bench/pipeline.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, waitReady } from '../src/app.js';
import type { ChatEvent } from '../src/bot/events.js';
import { silentLogger } from '../src/log.js';
import { VirtualClock } from '../src/core/schedule/clock.js';
import { openStore } from '../src/store/db.js';
import { seededRandom } from '../src/util/random.js';
import { bigCourse } from './course-fixture.js';
import { pct, report, type BenchResult } from './report.js';

const MEMBERS = 10_000;
const GROUPS = 100;
const MESSAGES = 10_000;

/** The message mix: 10 % hit a keyword rule, 20 % are questions, the rest chat. */
export function messageText(i: number, r: () => number): string {
  const x = r();
  if (x < 0.1) return `今天复习了关键词${Math.floor(r() * 94)}，感觉不错`;
  if (x < 0.3) return `请问第${i % 12}课的作业怎么提交？`;
  return `第${i}条消息，老师好，今天的直播讲得很清楚`;
}

export async function benchPipeline(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-'));
  const { config, groupIds } = bigCourse({ groups: GROUPS, rules: 100 });
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const t0 = performance.now();
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath: join(dir, 'bench.db') });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const startMs = performance.now() - t0;
  const r = seededRandom(1);

  const room = (m: number) => ({ id: `${groupIds[m % GROUPS]!}@chatroom`, name: `体验群 ${m % GROUPS}` });
  const tJoin = performance.now();
  for (let m = 0; m < MEMBERS; m++) {
    clock.set(clock.now() + 10);
    await app.kernel.handle({ type: 'member.joined', platform: 'wechat', eventId: `j${m}`, at: clock.now(), group: room(m), user: { id: `u${m}`, name: `学员${m}` } });
  }
  const joinSecs = (performance.now() - tJoin) / 1000;

  const events: ChatEvent[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const m = Math.floor(r() * MEMBERS);
    events.push({ type: 'message', platform: 'wechat', eventId: `m${i}`, at: 0, chat: { kind: 'group', group: room(m) }, user: { id: `u${m}`, name: `学员${m}` }, text: messageText(i, r), mentionsBot: false, contentKind: 'text' });
  }
  const lat: number[] = [];
  const tMsg = performance.now();
  for (const e of events) {
    clock.set(clock.now() + 100);
    const t = performance.now();
    await app.kernel.handle({ ...e, at: clock.now() } as ChatEvent);
    lat.push(performance.now() - t);
  }
  const msgSecs = (performance.now() - tMsg) / 1000;
  lat.sort((a, b) => a - b);
  const outboxRows = (app.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;

  // Baseline: the same event rows, one transaction each, on a fresh file with the same settings
  // (createApp opens its store with background checkpoints; so does the baseline).
  const base = openStore(join(dir, 'baseline.db'), { backgroundCheckpoints: true });
  const insert = base.prepare('INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING');
  const one = base.transaction((e: ChatEvent, at: number) => insert.run(e.type, e.platform, `wechat:${e.eventId}`, null, null, JSON.stringify(e), at));
  const tBase = performance.now();
  for (const e of events) one(e, 0);
  const baseSecs = (performance.now() - tBase) / 1000;
  base.close();

  // End to end through Wechaty on the mock puppet: a member speaks, the bot handles it.
  const sim = app.sim!;
  sim.user('speaker', 'Speaker');
  sim.join('speaker', room(0).id);
  await new Promise((res) => setTimeout(res, 50));
  const M = 1000;
  let handled = 0;
  const done = new Promise<void>((resolve) =>
    app.kernel.on('handled', (e) => {
      if (e.type === 'message' && ++handled === M) resolve();
    }),
  );
  const tE2e = performance.now();
  for (let i = 0; i < M; i++) sim.say('speaker', { roomId: room(0).id }, `hello ${i}`);
  await done;
  const e2eSecs = (performance.now() - tE2e) / 1000;
  await app.stop();

  const rate = MESSAGES / msgSecs;
  const baseRate = MESSAGES / baseSecs;
  const p99 = pct(lat, 99);
  return [
    { name: 'pipeline.start_to_ready', value: startMs, unit: 'ms', note: `simulated WeChat, ${GROUPS + 2} groups, 100 rules` },
    { name: 'pipeline.joins_per_s', value: MEMBERS / joinSecs, unit: 'events/s', note: 'welcome: 3 messages + a 2-step drip planned per join' },
    {
      name: 'pipeline.messages_per_s',
      value: rate,
      unit: 'events/s',
      baseline: 'raw event insert',
      baseline_value: baseRate,
      ratio: rate / baseRate,
      target: 'ratio >= 0.5',
      met: rate / baseRate >= 0.5,
      note: `${MEMBERS} members in ${GROUPS} groups, 100 rules, ${outboxRows} outbox rows written`,
    },
    { name: 'pipeline.p50', value: pct(lat, 50), unit: 'ms' },
    { name: 'pipeline.p99', value: p99, unit: 'ms', target: '< 10 ms', met: p99 < 10 },
    { name: 'pipeline.wechaty_mock_messages_per_s', value: M / e2eSecs, unit: 'events/s', note: 'Wechaty + mock puppet → kernel' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchPipeline());
  process.exit(0);
}
