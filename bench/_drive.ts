import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, waitReady } from '../src/app.js';
import type { ChatEvent } from '../src/bot/events.js';
import { silentLogger } from '../src/log.js';
import { VirtualClock } from '../src/core/schedule/clock.js';
import { bigCourse } from '../bench/course-fixture.js';

const kind = process.argv[2] ?? 'plain';
const N = Number(process.argv[3] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'kequn-prof-'));
const { config, groupIds } = bigCourse({ groups: 100, rules: 100 });
const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath: join(dir, 'b.db') });
await app.kernel.start();
await waitReady(() => app.kernel.isReady());
const room = (m: number) => ({ id: `${groupIds[m % 100]!}@chatroom`, name: `体验群 ${m % 100}` });
for (let m = 0; m < 1000; m++) { clock.set(clock.now() + 10); await app.kernel.handle({ type: 'member.joined', platform: 'wechat', eventId: `j${m}`, at: clock.now(), group: room(m), user: { id: `u${m}`, name: `学员${m}` } }); }
const text = (i: number) => kind === 'q' ? `请问第${i % 12}课的作业怎么提交？` : kind === 'kw' ? `今天复习了关键词${i % 94}，感觉不错` : `第${i}条消息，老师好，今天的直播讲得很清楚`;
const t = performance.now();
for (let i = 0; i < N; i++) {
  const m = (i * 7919) % 1000;
  clock.set(clock.now() + 100);
  await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: `m${i}`, at: clock.now(), chat: { kind: 'group', group: room(m) }, user: { id: `u${m}`, name: `学员${m}` }, text: text(i), mentionsBot: false, contentKind: 'text' } as ChatEvent);
}
console.log(kind, ((performance.now() - t) / N).toFixed(4), 'ms/msg');
await app.stop();
process.exit(0);
