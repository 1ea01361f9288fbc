/**
 * Platform fault drill: the Telegram Bot API misbehaves under a live kequn (long polling against
 * the fake Bot API on 127.0.0.1). During the fault window sendMessage answers 429 with
 * retry_after (short ones grammY waits out itself, a longer one the outbox waits out for that
 * chat), 500, or hangs until the client gives up; getUpdates answers 500, 429 and hangs too.
 * Joins, questions and DMs arrive meanwhile. Afterwards every outbox row is `sent` and was
 * delivered exactly once (the fake counts only the calls it answered 200), every update was
 * handled once, no request to a chat came before its retry_after had passed, the polling loop
 * is still running, and the store is consistent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { OffsetClock } from '../../src/core/schedule/clock.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { waitFor } from '../helpers/grpc-port.js';
import { removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { GROUP } from '../helpers/telegram.js';
import { sqliteOf } from '../../src/store/db.js';

const dataDir = mkdtempSync(join(tmpdir(), 'kequn-tg-fault-'));
afterAll(() => {
  removeTempDirs();
  rmSync(dataDir, { recursive: true, force: true });
});

const QUESTIONS = ['写代码用什么编辑器？', 'pip 安装包很慢或者超时怎么办？', 'Python 环境怎么安装？', '试听课在哪里看？'];
type Fault = { error: { error_code: number; description: string; parameters?: Record<string, unknown> } } | 'hang' | undefined;
const flood = (seconds: number): Fault => ({ error: { error_code: 429, description: `Too Many Requests: retry after ${seconds}`, parameters: { retry_after: seconds } } });
const serverError: Fault = { error: { error_code: 500, description: 'Internal Server Error' } };

describe('drill: the Telegram Bot API answers 429, 500 and hangs', () => {
  it('every message is delivered exactly once after the window, flood waits are kept, polling survives', { timeout: 60_000 }, async () => {
    const api = await FakeBotApi.start();
    // The course on Telegram, paced quickly (the drill is about faults, not pacing) with short retries.
    const dir = tempConfig({
      'kequn.yaml': (t) => {
        let s = replaceOnce(t, '    wechat: python-101@chatroom\n', `    wechat: python-101@chatroom\n    telegram: ${GROUP.id}\n`);
        s = replaceOnce(s, 'retry_backoff: 30s', 'retry_backoff: 100ms');
        s = replaceOnce(s, 'max_attempts: 5', 'max_attempts: 20');
        return replaceOnce(s, '    account_interval: 40ms\n    chat_interval: 1s\n    group_per_minute: 20', '    account_interval: 10ms\n    chat_interval: 10ms\n    group_per_minute: 60');
      },
    });
    const config = loadConfig(dir, { env: {} });
    // A weekday morning in the course's time zone, so no quiet hours hold the DMs.
    const clock = new OffsetClock();
    clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
    const app = await createApp({
      config,
      clock,
      log: createLogger({ level: process.env.DRILL_LOG ?? 'silent' }),
      live: true,
      dbPath: join(dataDir, 'kequn.db'),
      wechat: { kind: 'off' },
      telegram: {
        token: api.token,
        apiRoot: api.url,
        delivery: { kind: 'polling', timeoutSeconds: 1 },
        // grammY waits out a retry_after of up to 1 s itself; a longer one goes back to the outbox.
        retry: { maxRetryAttempts: 3, maxDelaySeconds: 1 },
        // A hung request is given up after this long (Telegram's real ones: see the adapter).
        requestTimeoutMs: 800,
      },
      random: () => 0,
    });
    await app.kernel.start();
    const db = app.db;
    const group = api.group(GROUP.id, GROUP.title);
    const people = Array.from({ length: 8 }, (_, i) => api.person(5001 + i, `Fault${i + 1}`));

    // Before the window: two members join and are welcomed.
    for (const p of people.slice(0, 2)) api.memberChange({ chat: group, user: p, joined: true });
    const pending = db.prepare("SELECT count(*) FROM outbox WHERE status <> 'sent'").pluck();
    const rowsCount = db.prepare('SELECT count(*) FROM outbox').pluck();
    await waitFor(() => (rowsCount.get() as number) > 0 && pending.get() === 0 ? true : undefined, 'the first welcomes', 10_000);

    // The window: a schedule of faults per method, consumed call by call (then normal answers).
    const schedule: Record<string, Fault[]> = {
      getUpdates: [serverError, undefined, flood(1), undefined, 'hang'],
      sendMessage: [flood(1), serverError, 'hang', undefined, flood(2), serverError, undefined, 'hang', flood(1), undefined, flood(2)],
    };
    const given = { getUpdates: [] as string[], sendMessage: [] as string[] };
    api.fault = (method, params) => {
      const next = schedule[method]?.shift();
      if (next && (method === 'getUpdates' || method === 'sendMessage')) given[method].push(next === 'hang' ? 'hang' : String(next.error.error_code));
      void params;
      return next;
    };
    const windowStart = Date.now();
    const pushed: number[] = [];
    for (const p of people.slice(2)) pushed.push(api.memberChange({ chat: group, user: p, joined: true }).update_id as number);
    people.slice(2, 6).forEach((p, i) => pushed.push(api.say({ user: p, chat: group, text: QUESTIONS[i]! }).update_id as number));
    for (const p of people.slice(6)) pushed.push(api.say({ user: p, text: '试听' }).update_id as number);
    const updates = db.prepare('SELECT count(*) FROM telegram_updates').pluck();
    await waitFor(() => (schedule.sendMessage!.length === 0 && schedule.getUpdates!.length === 0) || undefined, 'the fault schedule to be used up', 30_000);
    const windowMs = Date.now() - windowStart;

    // After the window: everything handled and sent; a latecomer shows the polling loop is alive.
    const late = api.person(5999, 'Late');
    pushed.push(api.memberChange({ chat: group, user: late, joined: true }).update_id as number);
    await waitFor(() => updates.get() === 2 + pushed.length || undefined, 'every update handled', 20_000);
    await waitFor(() => pending.get() === 0 || undefined, 'every outbox row sent', 20_000);
    const settledMs = Date.now() - windowStart;

    // Exactly one delivery per outbox row: per chat and text, as many 200-answered sendMessage
    // calls as rows (nothing lost, nothing doubled).
    const rows = db.prepare('SELECT chat_id, text, status, attempts FROM outbox ORDER BY id').all() as { chat_id: string; text: string; status: string; attempts: number }[];
    const key = (chat: string, text: string) => `${chat}\u0000${text}`;
    const diff = new Map<string, number>();
    for (const r of rows) diff.set(key(r.chat_id, r.text), (diff.get(key(r.chat_id, r.text)) ?? 0) + 1);
    for (const s of api.sent) diff.set(key(s.chatId, s.text), (diff.get(key(s.chatId, s.text)) ?? 0) - 1);
    const mismatched = [...diff].filter(([, n]) => n !== 0).map(([k, n]) => `${k.replace('\u0000', ': ').slice(0, 60)} (${n > 0 ? `${n} lost` : `${-n} extra`})`);
    expect(mismatched).toEqual([]);
    expect(rows.every((r) => r.status === 'sent')).toBe(true);
    expect(api.sent.length).toBe(rows.length);
    const retried = rows.filter((r) => r.attempts > 1).length;

    // Flood control: after a 429 for a chat, no request for that chat until retry_after passed;
    // after a 429 on getUpdates, no getUpdates until it passed.
    const early: string[] = [];
    api.calls.forEach((c, i) => {
      const f = c.status === 429 ? c.retryAfter : undefined;
      if (f === undefined) return;
      const same = api.calls.slice(i + 1).find((d) => d.method === c.method && (c.method === 'getUpdates' || String(d.params.chat_id) === String(c.params.chat_id)));
      if (same && same.at < c.at + f * 1000) early.push(`${c.method} ${String(c.params.chat_id ?? '')} again after ${same.at - c.at} ms (retry_after ${f}s)`);
    });
    expect(early).toEqual([]);

    // Every pushed update handled once, each event once, each joiner a member once.
    const handledIds = db.prepare('SELECT update_id FROM telegram_updates ORDER BY update_id').pluck().all() as number[];
    expect(new Set(handledIds).size).toBe(handledIds.length);
    for (const id of pushed) expect(handledIds).toContain(id);
    // One event per update in the log (the key is UNIQUE; here: none is missing either).
    const eventOf = db.prepare('SELECT count(*) FROM events WHERE dedupe_key = ?').pluck();
    expect(pushed.filter((id) => eventOf.get(`telegram:${api.me.id}:${id}`) !== 1)).toEqual([]);
    const members = db.prepare("SELECT count(DISTINCT member_id) FROM identities WHERE platform = 'telegram'").pluck().get() as number;
    expect(members).toBe(people.length + 1);
    expect(sqliteOf(db).pragma('integrity_check', { simple: true })).toBe('ok');
    expect(sqliteOf(db).pragma('foreign_key_check')).toEqual([]);
    expect(db.prepare("SELECT count(*) FROM outbox WHERE status IN ('sending', 'uncertain', 'failed')").pluck().get()).toBe(0);
    // The welcome reached the latecomer: polling went on after getUpdates failed and hung.
    expect(api.sent.some((s) => s.chatId === String(GROUP.id) && s.text.includes('Late'))).toBe(true);

    console.log(
      `telegram fault drill: faults given sendMessage ${given.sendMessage.join(',')} / getUpdates ${given.getUpdates.join(',')}; ` +
        `${pushed.length} updates in the window, ${rows.length} messages (${retried} needed more than one attempt by the outbox), ${api.sent.length} delivered, ` +
        `window ${windowMs} ms, all sent ${settledMs} ms after it began`,
    );
    await app.stop();
    await api.close();
  });
});
