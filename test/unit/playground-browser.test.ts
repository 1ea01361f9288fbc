/**
 * The playground's browser module (src/web/playground/browser/): its JSON types against what the
 * server returns (at type level: `npm run typecheck` fails when they part), links in messages, and
 * the 为什么 panel's Chinese for the traces real conversations leave.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { openStore } from '../../src/store/db.js';
import { recentTraces } from '../../src/store/traces.js';
import { parseScenario } from '../../src/testing/scenario-schema.js';
import { runScenario } from '../../src/testing/runner.js';
import type { memberDetail, playgroundState } from '../../src/web/api.js';
import { linkParts } from '../../src/web/playground/browser/linkify.js';
import type { MemberDetail, PlaygroundState, TraceCondition } from '../../src/web/playground/browser/types.js';
import { conditionFact, describeActual, describeCondition, describeEvent, describeNote, describeRule, durationZh } from '../../src/web/playground/browser/why.js';
import { DEMO_CONFIG_DIR } from '../helpers/fixtures.js';

describe('the JSON the page reads', () => {
  it('is what the server returns (checked by the type checker)', () => {
    expectTypeOf<ReturnType<typeof playgroundState>>().toExtend<PlaygroundState>();
    expectTypeOf<ReturnType<typeof memberDetail>>().toExtend<MemberDetail>();
  });
});

describe('links in chat messages', () => {
  it('makes http(s) addresses links and leaves the rest text, ending a link at Chinese punctuation or a sentence end', () => {
    const text = '「Python 数据分析正式班」报名链接：\nhttp://127.0.0.1:8787/pay/AbC_12-x。原价 ¥199.00，见 https://www.python.org/downloads/.';
    const parts = linkParts(text);
    expect(parts.filter((p) => p.kind === 'link').map((p) => p.text)).toEqual(['http://127.0.0.1:8787/pay/AbC_12-x', 'https://www.python.org/downloads/']);
    expect(parts.map((p) => p.text).join('')).toBe(text);
  });

  it('never makes a link of javascript:, data: or an address without a host', () => {
    for (const t of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'http://', 'https:///x', 'ftp://example.com/x']) {
      expect(linkParts(t).every((p) => p.kind === 'text'), t).toBe(true);
    }
    expect(linkParts('')).toEqual([]);
  });
});

describe('the 为什么 panel in Chinese', () => {
  const rules = new Map([['welcome-newcomer', '新人进体验群：群内欢迎']]);

  it('names rules by their description, built-in steps in words, events in words', () => {
    expect(describeRule('welcome-newcomer', rules)).toEqual({ title: '新人进体验群：群内欢迎', id: 'welcome-newcomer' });
    expect(describeRule('command:/buy', rules).title).toBe('命令 /buy');
    expect(describeRule('job:sequence.trial', rules).title).toBe('定时任务：sequence.trial');
    expect(describeRule('job:checkin.reminder', rules).title).toBe('定时任务：打卡提醒');
    expect(describeRule('channel', rules).title).toBe('私信渠道');
    const trace = { id: 1, at: 0, ruleId: 'welcome-newcomer', matched: true, eventId: 1, jobId: null, trigger: 'member.joined', conditions: [], actions: [] };
    expect(describeEvent({ ...trace, eventType: 'member.joined' })).toBe('入群');
    expect(describeEvent({ ...trace, eventType: null, trigger: 'channel.opened' })).toBe('私信渠道打开');
  });

  it('says conditions and values as sentences', () => {
    const c = (condition: string): TraceCondition => ({ condition, actual: null, ok: false });
    expect(describeCondition(c('stage in ["prospect","churned"]'))).toBe('阶段 是 prospect、churned 之一');
    expect(describeCondition(c('group.kind eq "trial"'))).toBe('群类型 是 trial');
    expect(describeCondition(c('is_dm eq true'))).toBe('私聊消息：是');
    expect(describeCondition(c('role in [owner, instructor]'))).toBe('角色 是 群主、讲师 之一');
    expect(describeCondition(c('cooldown 30d'))).toBe('冷却：上次触发后 30 天 内不再触发');
    expect(describeCondition(c('fired_ago.welcome-newcomer lt "30d"'))).toBe('规则 welcome-newcomer 上次触发距今 < 30 天');
    expect(describeCondition(c('referral_code exists true'))).toBe('有推荐码');
    expect(describeCondition(c('text contains "试听"'))).toBe('消息 包含「试听」');
    expect(describeActual('never fired')).toBe('从未触发');
    expect(describeCondition(c('no other rule answered'))).toBe('没有别的规则已经回答（兜底规则）');
    expect(describeActual('answered by live-replay')).toBe('已由 live-replay 回答');
    expect(describeActual('fired 3h5m ago')).toBe('3 小时 5 分 前触发过');
    expect(describeCondition(c('channel.how in ["friend_request","start"]'))).toBe('私信渠道打开方式 是 通过了 TA 的好友申请、在 Telegram 点了 Start 之一');
    expect(describeActual('already_friend', 'channel.how')).toBe('本来就是好友');
    expect(describeActual('member', 'role')).toBe('学员');
    expect(describeActual('start', 'group')).toBe('start');
    expect(describeActual(false)).toBe('否');
    expect(describeActual(null)).toBe('无');
    expect(durationZh('14d')).toBe('14 天');
    expect(durationZh('python-101')).toBe('python-101');
  });

  it('translates the notes of a welcome, a held link, a payment and a check-in', () => {
    expect(describeNote('stage trial → paid; referral code EC7T3R issued')).toBe('阶段 trial → paid；发放推荐码 EC7T3R');
    expect(describeNote('order opened: o_sJ5vO7cMKq1a ¥199.00')).toBe('新订单 o_sJ5vO7cMKq1a（¥199.00）：报名链接私信发给 TA');
    expect(describeNote('order o_sJ5vO7cMKq1a paid (¥199.00 via sandbox)')).toBe('订单 o_sJ5vO7cMKq1a 已支付（¥199.00，沙盒）');
    expect(describeNote('private channel not open: not a friend of the account yet')).toBe('私信渠道还没打开：TA 还不是机器人微信号的好友，私信先等着');
    expect(describeNote('sequence trial: waits for the private channel to open (2 steps)')).toBe('推送「trial」：等私信渠道打开后开始（共 2 步）');
    expect(describeNote('checked in for 2026-03-02: streak 1, total 1')).toBe('2026-03-02 打卡：连续 1 天，累计 1 天');
    expect(describeNote('referral by code AMY888: refused (self_referral) [decision 2]')).toBe('推荐（推荐码 AMY888）：没有登记，不能推荐自己');
    // A note no one translated yet is shown as recorded, not dropped.
    expect(describeNote('a note from a new feature')).toBe('a note from a new feature');
  });

  // The traces members' conversations really leave (the conversation tests' own), read back from
  // the store as the playground's API reads them: every condition and every note of a member's
  // rule comes out without an English phrase. Staff commands' usage errors quote the command's
  // own message and are left out.
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  it('leaves no English phrase in what members\' conversations record', async () => {
    const config = loadConfig(DEMO_CONFIG_DIR);
    const english = (s: string) => /\b[A-Za-z]{2,}[ ,:;]+[A-Za-z]{2,}\b/.test(s.replace(/「[^」]*」/g, ''));
    const left: string[] = [];
    let seen = 0;
    for (const name of ['welcome-and-drip', 'buy-and-pay', 'private-channel-wechat', 'checkin-week', 'qa', 'referral-code', 'moderation', 'rejoin-and-leave', 'lifecycle']) {
      const dir = mkdtempSync(join(tmpdir(), 'kequn-why-'));
      dirs.push(dir);
      const dbPath = join(dir, 'kequn.db');
      const { scenario } = parseScenario(`test/scenarios/${name}.yaml`);
      const outcome = await runScenario(scenario!, config, { dbPath });
      expect(outcome.ok, outcome.failure).toBe(true);
      const db = openStore(dbPath);
      try {
        for (const user of Object.keys(scenario!.users)) {
          const m = findMemberByIdentity(db, 'wechat', user);
          if (!m) continue;
          for (const t of recentTraces(db, m.id, 1000)) {
            const d = JSON.parse(t.detail) as { conditions?: TraceCondition[]; actions?: unknown[] };
            const rule = describeRule(t.rule_id, new Map(config.rules.map((r) => [r.id, r.description])));
            if (english(rule.title)) left.push(`rule ${t.rule_id}`);
            for (const c of d.conditions ?? []) {
              seen++;
              if (english(describeCondition(c))) left.push(`condition ${c.condition}`);
              // What a member typed (the `text` fact) is shown as they typed it.
              const fact = conditionFact(c.condition);
              if (!c.ok && fact !== 'text' && english(describeActual(c.actual, fact))) left.push(`value ${String(c.actual)} of ${c.condition}`);
            }
            for (const a of d.actions ?? []) {
              seen++;
              if (typeof a === 'string' && /^usage error: /.test(a)) continue;
              if (english(describeNote(a))) left.push(`note ${String(a)}`);
            }
          }
        }
      } finally {
        db.close();
      }
    }
    expect(seen).toBeGreaterThan(100);
    expect([...new Set(left)]).toEqual([]);
  }, 120_000);
});
