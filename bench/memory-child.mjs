// The measured process of bench/memory.ts. Plain JavaScript run by plain node, like
// bin/kequn.mjs: it imports kequn from the compiled build `kequn start` runs (BENCH_MEM_SRC =
// dist/<hash>/src, BENCH_MEM_EXT = .js), or from src/ through tsx for comparison (.ts, started
// with --import tsx). It builds what `kequn start` builds (store, kernel, simulated WeChat, web
// server, pino logger), reports RSS after a full GC as one JSON line, and exits.
import { pathToFileURL } from 'node:url';

const src = process.env.BENCH_MEM_SRC;
const ext = process.env.BENCH_MEM_EXT ?? '.js';
const mod = (path) => import(pathToFileURL(`${src}/${path}${ext}`).href);
const mode = process.argv[2];
const MESSAGES = Number(process.env.BENCH_MEM_MESSAGES ?? 10_000);
const MEMBERS = Number(process.env.BENCH_MEM_MEMBERS ?? 100_000);
const PER_GROUP = 100;

const gc = () => {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
};
const settle = () => new Promise((r) => setTimeout(r, 500));
const figures = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
};

if (mode === 'bare') {
  // The floor of any WeChat bot on Node: Wechaty on the same mock puppet, echoing.
  const { SimulatedWeChat } = await mod('bot/simulator');
  const sim = new SimulatedWeChat({ botName: 'bot', now: () => Date.now() });
  const bot = sim.buildBot();
  bot.on('message', async (m) => {
    if (!m.self()) await m.say(m.text());
  });
  await bot.start();
  await settle();
  gc();
  process.stdout.write(JSON.stringify({ idle: figures() }) + '\n');
  process.exit(0);
}

const { createApp, loadConfig, waitReady } = await mod('app');
const { createLogger } = await mod('log');
const { OffsetClock } = await mod('core/schedule/clock');
const { createWebApp, startWebServer } = await mod('web/server');
const { segmenterLoaded } = await mod('flows/qa/tokenize');
const config = loadConfig(process.env.BENCH_MEM_CONFIG, { env: { KEQUN_DATA: process.env.BENCH_MEM_DATA } });
// `kequn start`'s logger (pino to stdout) at warn: the parent reads the last line only.
const log = createLogger({ level: 'warn', destination: process.stderr });
const clock = new OffsetClock();
clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
const app = await createApp({ config, clock, log, live: true, dbPath: config.dataPath });
await app.kernel.start();
const server = await startWebServer(createWebApp({ app, clock, log }), { host: '127.0.0.1', port: 0 });
await waitReady(() => app.kernel.isReady());
await settle();
gc();
const idle = { ...figures(), jieba: segmenterLoaded(), qa: app.kernel.currentServices.qa.origin.from };
// BENCH_MEM_IDLE_ONLY: a start that only stores the Q&A index for the measured one (bench/memory.ts).
if (process.env.BENCH_MEM_IDLE_ONLY === '1') {
  process.stdout.write(JSON.stringify({ idle }) + '\n');
  await server.close();
  await app.stop();
  process.exit(0);
}
// For looking into it: BENCH_MEM_SNAPSHOT=file.heapsnapshot writes the idle heap (Chrome DevTools).
if (process.env.BENCH_MEM_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.BENCH_MEM_SNAPSHOT);
const groups = Object.values(config.groups).filter((g) => g.wechat);
for (let i = 0; i < MESSAGES; i++) {
  const n = (i * 7919) % MEMBERS;
  const g = groups[Math.floor(n / PER_GROUP) % groups.length];
  await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: `mem-${i}`, at: clock.now(), chat: { kind: 'group', group: { id: g.wechat, name: g.name } }, user: { id: `u${n}`, name: `学员${n}` }, text: `关键词${i % 100} 老师好，第 ${i} 条`, mentionsBot: false, contentKind: 'text' });
}
await settle();
gc();
const afterPipeline = { ...figures(), jieba: segmenterLoaded() };
// One question the FAQ answers: its Chinese words are cut by jieba, whose dictionary loads now.
await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: 'mem-question', at: clock.now(), chat: { kind: 'group', group: { id: groups[0].wechat, name: groups[0].name } }, user: { id: 'u1', name: '学员1' }, text: 'Python 环境怎么安装？', mentionsBot: false, contentKind: 'text' });
await settle();
gc();
const afterQuestion = { ...figures(), jieba: segmenterLoaded() };
process.stdout.write(JSON.stringify({ idle, afterPipeline, afterQuestion }) + '\n');
await server.close();
await app.stop();
process.exit(0);
