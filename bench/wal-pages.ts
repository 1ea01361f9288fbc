/**
 * WAL pages per event: what a commit writes, which bounds the pipeline's rate on SQLite (each page
 * is 4 KB appended to the WAL and later copied into the file). The pipeline bench's course (100
 * rules, 100 groups) and message mix on a file with no checkpoints at all, so the WAL only grows:
 * its frames before and after a phase, over the events, are the pages per event. Each frame's
 * header names its page; `dbstat` names the table or index that page belongs to, so the figure
 * comes with its breakdown (`events 1.0, events_member 1.0, ...`). Baseline: the same event rows
 * inserted bare, one transaction each, on a fresh file.
 * Run: npx tsx bench/wal-pages.ts
 */
import { closeSync, mkdtempSync, openSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, waitReady } from '../src/app.js';
import type { ChatEvent } from '../src/bot/events.js';
import { VirtualClock } from '../src/core/schedule/clock.js';
import { silentLogger } from '../src/log.js';
import { openStore, sqliteOf } from '../src/store/db.js';
import { seededRandom } from '../src/util/random.js';
import { bigCourse } from './course-fixture.js';
import { messageText } from './pipeline.js';
import type { BenchResult } from './report.js';

const MEMBERS = Number(process.env.BENCH_WAL_MEMBERS ?? 3_000);
const MESSAGES = Number(process.env.BENCH_WAL_MESSAGES ?? 3_000);
const GROUPS = 100;
const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/** The page number of every frame in the WAL from frame `from` on. */
function framePages(walPath: string, pageSize: number, from: number): number[] {
  const frame = FRAME_HEADER + pageSize;
  const frames = Math.floor((statSync(walPath).size - WAL_HEADER) / frame);
  const fd = openSync(walPath, 'r');
  const head = Buffer.alloc(4);
  const pages: number[] = [];
  try {
    for (let f = from; f < frames; f++) {
      readSync(fd, head, 0, 4, WAL_HEADER + f * frame);
      pages.push(head.readUInt32BE(0));
    }
  } finally {
    closeSync(fd);
  }
  return pages;
}

function walFrames(walPath: string, pageSize: number): number {
  return Math.floor((statSync(walPath).size - WAL_HEADER) / (FRAME_HEADER + pageSize));
}

/** Frames per event by table or index, biggest first: `events 1.00, events_member 0.98, …`. */
function breakdown(db: ReturnType<typeof sqliteOf>, pages: number[], events: number): string {
  const owner = new Map<number, string>();
  for (const r of db.prepare('SELECT name, pageno FROM dbstat').iterate() as IterableIterator<{ name: string; pageno: number }>) owner.set(r.pageno, r.name);
  const count = new Map<string, number>();
  for (const p of pages) {
    // Page 1 is the file header (schema cookie, page counts); pages not in dbstat were freed since.
    const name = p === 1 ? '(header)' : (owner.get(p) ?? '(freelist)');
    count.set(name, (count.get(name) ?? 0) + 1);
  }
  return [...count]
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${(n / events).toFixed(2)}`)
    .join(', ');
}

export interface WalPages {
  perJoin: number;
  perMessage: number;
  perBareInsert: number;
  joinBreakdown: string;
  messageBreakdown: string;
}

export async function measureWalPages(): Promise<WalPages> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-wal-'));
  const { config, groupIds } = bigCourse({ groups: GROUPS, rules: 100 });
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const dbPath = join(dir, 'pages.db');
  const walPath = `${dbPath}-wal`;
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, wechat: { kind: 'off' }, backgroundCheckpoints: false });
  const db = sqliteOf(app.db);
  // No checkpoint at all: the WAL keeps every frame of the run.
  db.pragma('wal_autocheckpoint = 0');
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  const room = (m: number) => ({ id: `${groupIds[m % GROUPS]!}@chatroom`, name: `体验群 ${m % GROUPS}` });

  const j0 = walFrames(walPath, pageSize);
  for (let m = 0; m < MEMBERS; m++) {
    clock.set(clock.now() + 10);
    await app.kernel.handle({ type: 'member.joined', platform: 'wechat', eventId: `j${m}`, at: clock.now(), group: room(m), user: { id: `u${m}`, name: `学员${m}` } });
  }
  const joinPages = framePages(walPath, pageSize, j0);

  const r = seededRandom(1);
  const events: ChatEvent[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const m = Math.floor(r() * MEMBERS);
    events.push({ type: 'message', platform: 'wechat', eventId: `m${i}`, at: 0, chat: { kind: 'group', group: room(m) }, user: { id: `u${m}`, name: `学员${m}` }, text: messageText(i, r), mentionsBot: false, contentKind: 'text' });
  }
  const m0 = walFrames(walPath, pageSize);
  for (const e of events) {
    clock.set(clock.now() + 100);
    await app.kernel.handle({ ...e, at: clock.now() } as ChatEvent);
  }
  const messagePages = framePages(walPath, pageSize, m0);
  const joinBreakdown = breakdown(db, joinPages, MEMBERS);
  const messageBreakdown = breakdown(db, messagePages, MESSAGES);
  await app.stop();

  // The bare insert, same rows, same settings, no checkpoints either.
  const basePath = join(dir, 'baseline.db');
  const base = sqliteOf(openStore(basePath));
  base.pragma('wal_autocheckpoint = 0');
  const insert = base.prepare('INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING');
  const one = base.transaction((e: ChatEvent) => insert.run(e.type, e.platform, `wechat:${e.eventId}`, null, null, JSON.stringify(e), 0));
  const b0 = walFrames(`${basePath}-wal`, pageSize);
  for (const e of events) one(e);
  const bare = walFrames(`${basePath}-wal`, pageSize) - b0;
  base.close();

  return { perJoin: joinPages.length / MEMBERS, perMessage: messagePages.length / MESSAGES, perBareInsert: bare / MESSAGES, joinBreakdown, messageBreakdown };
}

export async function benchWalPages(): Promise<BenchResult[]> {
  const w = await measureWalPages();
  return [
    { name: 'pipeline.wal_pages_per_join', value: w.perJoin, unit: 'pages', note: w.joinBreakdown },
    {
      name: 'pipeline.wal_pages_per_message',
      value: w.perMessage,
      unit: 'pages',
      baseline: 'bare event insert',
      baseline_value: w.perBareInsert,
      ratio: w.perMessage / w.perBareInsert,
      note: `${MEMBERS} members, ${MESSAGES} messages, 100 rules; ${w.messageBreakdown}`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { report } = await import('./report.js');
  report(await benchWalPages());
  process.exit(0);
}
