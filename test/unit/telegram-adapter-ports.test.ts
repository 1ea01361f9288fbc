import type { UserFromGetMe } from 'grammy/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../../src/bot/events.js';
import { TelegramAdapter } from '../../src/bot/telegram-adapter.js';
import type { TelegramCourse, TelegramState } from '../../src/bot/telegram-ports.js';
import { silentLogger } from '../../src/log.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';

// The Telegram adapter is a plain adapter: it runs on nothing but its two narrow ports (here an
// in-memory state and a two-line course, no store, no configuration) and the Bot API.

/** TelegramState in a few Maps, as any store could keep it. */
function memoryState(): TelegramState & { handled: Set<string>; offsets: Map<string, number>; commits: string[] } {
  const handled = new Set<string>();
  // Each record as one commit would make it: `one <id>` or `batch <ids> → <offset>`.
  const commits: string[] = [];
  const offsets = new Map<string, number>();
  const unreachable = new Map<string, string>();
  return {
    handled,
    offsets,
    commits,
    isUpdateHandled: (bot, id) => handled.has(`${bot}:${id}`),
    markUpdateHandled: (bot, id, _at, next) => {
      commits.push(`one ${id}`);
      handled.add(`${bot}:${id}`);
      if (next !== undefined) offsets.set(bot, next);
    },
    markUpdatesHandled: (bot, ids, _at, next) => {
      commits.push(`batch ${ids.join(',')} → ${next}`);
      for (const id of ids) handled.add(`${bot}:${id}`);
      offsets.set(bot, next);
    },
    pruneHandledUpdates: () => undefined,
    getPollingOffset: (bot) => offsets.get(bot),
    setPollingOffset: (bot, offset) => void offsets.set(bot, offset),
    markChatUnreachable: (bot, chat, reason) => void unreachable.set(`${bot}:${chat}`, reason),
    clearChatUnreachable: (bot, chat) => void unreachable.delete(`${bot}:${chat}`),
    unreachableReason: (bot, chat) => unreachable.get(`${bot}:${chat}`),
    saveBotUsername: () => undefined,
  };
}

const course: TelegramCourse = { groupOf: (chatId) => (chatId === '-100500' ? 'python-101' : undefined), isOwner: (userId) => userId === '42' };

let api: FakeBotApi | undefined;
let adapter: TelegramAdapter | undefined;

afterEach(async () => {
  await adapter?.stop();
  await api?.close();
  adapter = api = undefined;
});

async function start(opts: { polling?: boolean; before?: (api: FakeBotApi) => void } = {}): Promise<{ events: ChatEvent[]; state: ReturnType<typeof memoryState> }> {
  api = await FakeBotApi.start();
  opts.before?.(api);
  const state = memoryState();
  const events: ChatEvent[] = [];
  adapter = new TelegramAdapter({
    token: api.token,
    apiRoot: api.url,
    botInfo: api.me as unknown as UserFromGetMe,
    // Webhook delivery: updates are handed in by the test, nothing polls.
    delivery: opts.polling ? { kind: 'polling', timeoutSeconds: 1 } : { kind: 'webhook', url: 'https://bot.example.com/telegram/webhook', secret: 'a-secret-of-sixteen-chars' },
    state,
    course,
    log: silentLogger,
    clock: { now: () => Date.parse('2026-03-02T10:00:00+08:00') },
  });
  await adapter.start(async (e) => void events.push(e));
  return { events, state };
}

describe('TelegramAdapter on its ports alone', () => {
  it('reads commands with the engine parser: its own @name only, /start as the channel opening, a group message with its message id', async () => {
    const { events, state } = await start();
    const group = api!.group(-100500, 'Python');
    const alice = api!.person(1001, 'Alice');
    const updates = [
      api!.say({ user: alice, chat: group, text: '/help@OtherBot' }),
      api!.say({ user: alice, chat: group, text: '/Help@kequn_test_bot 打卡  怎么用' }),
      api!.say({ user: alice, text: '/start ref-K7M2XQ' }),
      api!.say({ user: alice, chat: group, text: '请问作业交到哪里？' }),
    ];
    for (const u of updates) await adapter!.handleUpdate(u as never);
    // The same update again (a redelivery) reaches nobody.
    expect(await adapter!.handleUpdate(updates[3] as never)).toBe(false);

    expect(events.map((e) => e.type)).toEqual(['message', 'channel.opened', 'message']);
    expect(events[0]).toMatchObject({ type: 'message', text: '/help 打卡  怎么用', chat: { kind: 'group', group: { id: '-100500' } } });
    expect(events[1]).toMatchObject({ type: 'channel.opened', how: 'start', text: 'ref-K7M2XQ', user: { id: '1001' } });
    const question = updates[3]!.message as { message_id: number };
    expect(events[2]).toMatchObject({ type: 'message', text: '请问作业交到哪里？', messageId: String(question.message_id) });
    expect(state.handled.size).toBe(4);
  });

  it('/chatid answers the owner the course names, and nobody else', async () => {
    await start();
    const group = api!.group(-100777, 'Not yet in config');
    api!.markStarted(42);
    await adapter!.handleUpdate(api!.say({ user: api!.person(7, 'Stranger'), chat: group, text: '/chatid' }) as never);
    expect(api!.sent).toEqual([]);
    await adapter!.handleUpdate(api!.say({ user: api!.person(42, '校长'), chat: group, text: '/chatid@kequn_test_bot' }) as never);
    // Sent on its own, not awaited by the update's handling.
    await vi.waitFor(() => expect(api!.sent.map((m) => m.text)).toEqual([expect.stringContaining('-100777')]));
  });

  it('polling: the events of a getUpdates batch are recorded with the offset in one commit at its end; what the engine does not see, at once', async () => {
    const group = { id: -100500, type: 'supergroup', title: 'Python' };
    let ids: number[] = [];
    const { events, state } = await start({
      polling: true,
      // Queued before the bot polls: one getUpdates hands out all five.
      before: (a) => {
        a.markStarted(42);
        const alice = a.person(1001, 'Alice');
        ids = [
          a.say({ user: alice, chat: group, text: '第一条' }),
          a.say({ user: a.person(42, '校长'), chat: group, text: '/chatid' }),
          a.say({ user: alice, chat: group, text: '第二条' }),
          a.memberChange({ chat: group, user: a.person(1002, 'Bob'), joined: true }),
          a.say({ user: { ...a.person(9, 'OtherBot'), is_bot: true } as never, chat: group, text: 'beep' }),
        ].map((u) => u.update_id as number);
      },
    });
    await vi.waitFor(() => expect(state.commits.some((c) => c.startsWith('batch'))).toBe(true), { timeout: 5000 });
    // /chatid (answered directly) and the bot's message (dropped) reach no engine: each recorded
    // as it is handled. The three events, with the offset past the batch, in one commit after.
    expect(state.commits).toEqual([`one ${ids[1]}`, `one ${ids[4]}`, `batch ${ids[0]},${ids[2]},${ids[3]} → ${ids[4]! + 1}`]);
    expect(events.map((e) => (e.type === 'message' ? e.text : e.type))).toEqual(['第一条', '第二条', 'member.joined']);
    expect(api!.sent.map((m) => m.text)).toEqual([expect.stringContaining('-100500')]);
  });
});
