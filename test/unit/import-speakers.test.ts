/**
 * Telegram gives bots no member list, so the import (src/flows/import) records someone first met
 * by their message in a course group as someone who was there before the bot: in the stage the
 * config gives existing members, with no join rule run for them. Only the event that made the
 * member can show that, so a later message of a known member costs the import nothing: on
 * PostgreSQL it added about 6 requests to every group message (issue 20), counted here with
 * PostgresDb.roundTrips. The grammY adapter over HTTP against the fake Bot API on 127.0.0.1, the
 * real kernel, engine and flows, on both stores.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/bot/events.js';
import type { CourseConfig } from '../../src/core/types.js';
import { findMemberByIdentity, getMembership, stageHistory } from '../../src/store/members.js';
import { PostgresDb } from '../../src/store/postgres.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { count, removeTempDirs, SECOND } from '../helpers/fixtures.js';
import { testBackend } from '../helpers/store.js';
import { GROUP, startRig, telegramConfig, type TelegramRig } from '../helpers/telegram.js';

let config: CourseConfig;
let api: FakeBotApi;
let rig: TelegramRig | undefined;

beforeAll(() => {
  config = telegramConfig();
});

afterEach(async () => {
  await rig?.app.stop();
  rig = undefined;
  await api?.close();
});

afterAll(() => removeTempDirs());

const group = () => api.group(GROUP.id, GROUP.title);

/** A text in the trial group from Telegram user `id`, as the adapter hands it to the kernel. */
function groupMessage(id: number, text: string, at: number): ChatEvent {
  return {
    type: 'message',
    platform: 'telegram',
    eventId: `tg-test:${id}:${at}`,
    at,
    chat: { kind: 'group', group: { id: String(GROUP.id), name: GROUP.title } },
    user: { id: String(id), name: `user${id}` },
    text,
    mentionsBot: false,
    contentKind: 'text',
  };
}

describe('people who were in a Telegram group before the bot', () => {
  it('are recorded as imported, in the stage of the group, by the message that makes them known; nothing more on their next messages', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const db = rig.app.db;
    const dora = api.person(3001, 'Dora');
    api.say({ user: dora, chat: group(), text: '大家好' });
    await rig.settle(1);
    const member = findMemberByIdentity(db, 'telegram', '3001')!;
    // The fixture course gives people found in a trial group `nurture` (kequn.yaml import.stages).
    expect(config.import.stageOf['python-101']).toBe('nurture');
    expect(member.stage).toBe('nurture');
    expect(count(db, 'member_imports', `member_id = '${member.id}' AND group_id = 'python-101' AND stage = 'nurture'`)).toBe(1);
    expect(stageHistory(db, member.id).map((t) => [t.from_stage, t.to_stage, t.actor])).toEqual([
      [null, config.stageIds[0], 'first-seen'],
      [config.stageIds[0], 'nurture', 'imported'],
    ]);
    const before = { member: findMemberByIdentity(db, 'telegram', '3001'), membership: getMembership(db, member.id, 'python-101'), moves: stageHistory(db, member.id).length };
    api.say({ user: dora, chat: group(), text: '今天学了 pandas' });
    await rig.settle(2);
    expect({ member: findMemberByIdentity(db, 'telegram', '3001'), membership: getMembership(db, member.id, 'python-101'), moves: stageHistory(db, member.id).length }).toEqual(before);
    expect(count(db, 'member_imports')).toBe(1);
  });

  it('someone kequn met first in a private chat is no import when they then speak in the group', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const db = rig.app.db;
    const eve = api.person(3002, 'Eve');
    api.say({ user: eve, text: '你好' });
    await rig.settle(1);
    rig.clock.set(rig.clock.now() + 60 * SECOND);
    api.say({ user: eve, chat: group(), text: '大家好' });
    await rig.settle(2);
    const member = findMemberByIdentity(db, 'telegram', '3002')!;
    expect(getMembership(db, member.id, 'python-101')).toMatchObject({ left_at: null, join_count: 0 });
    expect(stageHistory(db, member.id).map((t) => [t.from_stage, t.to_stage, t.actor])).toEqual([[null, config.stageIds[0], 'first-seen']]);
    expect(count(db, 'member_imports')).toBe(0);
  });
});

describe.skipIf(testBackend !== 'postgres')('the import on PostgreSQL', () => {
  it("sends no request for a known member's message in the group: the workers after the event send nothing", async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const pg = rig.app.db as PostgresDb;
    const kernel = rig.app.kernel;
    let atHandled = 0;
    // The kernel tells 'handled' once the event's transaction and the heartbeat after it are
    // done, before the workers' afterEvent: what comes after is theirs (the import's check).
    kernel.on('handled', () => (atHandled = pg.roundTrips));
    const t0 = rig.clock.now();
    // The first message makes Fay known, and the import records her (a few requests, once).
    expect((await kernel.handle(groupMessage(3003, '大家好', t0))).status).toBe('handled');
    expect(count(pg, 'member_imports')).toBe(1);
    for (let i = 1; i <= 3; i++) {
      const sent: string[] = [];
      pg.onRequest = (sql) => sent.push(sql);
      const r = await kernel.handle(groupMessage(3003, `今天学了第${i}课`, t0 + i * SECOND));
      pg.onRequest = undefined;
      expect(r.status).toBe('handled');
      expect(pg.roundTrips - atHandled, sent.join('\n----\n')).toBe(0);
    }
    expect(count(pg, 'member_imports')).toBe(1);
  });
});
