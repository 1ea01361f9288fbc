/**
 * `npm run drills`: the reliability drills at full length (docs/operations.md). `npm test` runs
 * shortened forms of the same drills (test/drills/*.test.ts).
 *
 *   npm run drills                 # all
 *   npm run drills -- crash        # one of: crash | hostile | faults | cluster
 *   npm run drills -- exposure     # one suite of the hostile drill (test/drills/hostile/index.ts)
 *   DRILL_KILLS=50 npm run drills -- crash
 *   KEQUN_TEST_PG_URL=postgres://… npm run drills -- cluster   # needs a PostgreSQL server
 */
import { spawnSync } from 'node:child_process';
import { runCrashDrill } from './crash.js';
import { runClusterDrill } from './cluster.js';
import { SUITES } from './hostile/index.js';
import { runSuites } from './hostile/suite.js';

const only = process.argv[2];
let failed = false;
const line = (s: string) => process.stdout.write(s + '\n');

if (!only || only === 'crash') {
  const kills = Number(process.env.DRILL_KILLS ?? 20);
  const seed = Number(process.env.DRILL_SEED ?? Date.now());
  line(`crash under load: ${kills} × kill -9 (seed ${seed})`);
  const t = Date.now();
  const r = await runCrashDrill({ kills, seed, log: (s) => line(`  ${s}`) });
  line(
    `  kills survived ${r.kills}, starts ${r.starts}, actions acknowledged ${r.actions} (${r.redelivered} redelivered after a kill), ` +
      `events ${r.events}, paid orders ${r.paidOrders}, messages sent ${r.sent} / delivered ${r.deliveries} / uncertain ${r.uncertain}, ` +
      `reminder runs ${r.remindersRun}, jobs done ${r.jobsDone}, ${r.virtualHours} virtual hours, ${Math.round((Date.now() - t) / 1000)} s`,
  );
  if (r.problems.length > 0) {
    failed = true;
    line(`  FAILED: ${r.problems.length} problems`);
    for (const p of r.problems.slice(0, 30)) line(`    ${p}`);
  } else line('  ok: every acknowledged event logged once, every paid order paid once, nothing delivered twice, no reminder twice');
}

if (!only || only === 'hostile' || SUITES.some((s) => s.name === only)) {
  // A suite's own name runs just that suite (`inputs` was this whole drill's name before it grew suites).
  const suites = !only || only === 'hostile' ? SUITES : SUITES.filter((s) => s.name === only);
  line('hostile drill: attacks on a running kequn, as an outsider and as a hostile member');
  const r = await runSuites(suites, (s, sr) => {
    line(`  ${s.name}: ${s.title}`);
    for (const l of sr.lines) line(`    ${l.slice(0, 220)}`);
    line(`    tried ${sr.tried}, problems ${sr.problems.length}`);
  });
  line(`  inputs tried ${r.tried}, problems found ${r.problems.length}`);
  if (r.problems.length > 0) {
    failed = true;
    line(`  FAILED: ${r.problems.length} problems`);
    for (const p of r.problems) line(`    ${p}`);
  } else line('  ok: every attack refused or handled; unrelated state unchanged');
}

if (!only || only === 'faults') {
  // The platform fault drills are whole-app tests with their own servers: run them as tests.
  line('platform faults: gRPC puppet server away and back; Telegram Bot API 429/500/hangs; LLM endpoint hanging');
  const r = spawnSync('npx', ['vitest', 'run', 'test/drills/faults-grpc.test.ts', 'test/drills/faults-telegram.test.ts', 'test/drills/faults-llm.test.ts'], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}

if (!only || only === 'cluster') {
  const pgAdminUrl = process.env.KEQUN_TEST_PG_URL;
  const reminders = Number(process.env.DRILL_REMINDERS ?? 10_000);
  const payments = Number(process.env.DRILL_PAYMENTS ?? 1_000);
  line(`three processes on one PostgreSQL: ${reminders} reminders, ${payments} payment notifications, one process killed`);
  if (!pgAdminUrl) {
    line('  skipped: set KEQUN_TEST_PG_URL to a PostgreSQL server the drill may create a database on (docs/postgresql.md)');
    if (only === 'cluster') failed = true;
  } else {
    const r = await runClusterDrill({ pgAdminUrl, reminders, payments, log: (s) => line(`  ${s}`) });
    line(
      `  notifications posted ${r.notificationsPosted} (${r.retriedElsewhere} retried at another process), messages delivered ${r.deliveries}, ` +
        `sent by ${Object.entries(r.sentBy).map(([k, v]) => `${k} ${v}`).join(', ')}, uncertain ${r.uncertain}, ` +
        `takeover after ${r.takeoverSeconds?.toFixed(1)} s (${r.chatsTakenOver} chats moved, ${r.chatsWaited} waited), ${r.seconds} s`,
    );
    if (r.problems.length > 0) {
      failed = true;
      line(`  FAILED: ${r.problems.length} problems`);
      for (const p of r.problems.slice(0, 30)) line(`    ${p}`);
    } else line('  ok: every reminder job once, one reminder per member, every order paid once, nothing delivered twice');
  }
}

process.exit(failed ? 1 : 0);
