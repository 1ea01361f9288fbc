/**
 * Platform fault drill: the LLM endpoint hangs during a burst of questions in a live kequn. Every
 * question still gets its FAQ answer once the per-call timeout passes, the bot keeps welcoming
 * newcomers meanwhile, and when the endpoint answers again the LLM mode resumes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp, waitReady } from '../../src/app.js';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { OffsetClock } from '../../src/core/schedule/clock.js';
import { startFakeOpenAI } from '../helpers/fake-openai.js';
import { waitFor } from '../helpers/grpc-port.js';
import { tempConfig, removeTempDirs } from '../helpers/fixtures.js';
import { afterAll } from 'vitest';

afterAll(() => removeTempDirs());
const ROOM = 'python-101@chatroom';
const QUESTIONS = ['直播课什么时间上？', '写代码用什么编辑器？', 'pip 安装包很慢或者超时怎么办？', 'Python 环境怎么安装？', '试听课在哪里看？'];

describe('drill: the LLM endpoint hangs', () => {
  it('answers every question from the FAQ after the timeout, keeps handling joins, resumes the LLM after', { timeout: 60_000 }, async () => {
    const fake = await startFakeOpenAI();
    fake.fallback = { hang: true };
    // Live, on the system clock (shifted to a weekday morning outside quiet hours), with a quick pace.
    const dir = tempConfig({ 'kequn.yaml': (t) => t.replace('  account_interval: 1s\n  chat_interval: 2s\n  jitter: 500ms', '  account_interval: 20ms\n  chat_interval: 20ms\n  jitter: 0s') });
    const base = loadConfig(dir, { env: {} });
    const config: CourseConfig = { ...base, qa: { ...base.qa, llm: { ...base.qa.llm, timeout: 400 } } };
    const clock = new OffsetClock();
    clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
    const app = await createApp({ config, clock, log: silentLogger, live: true, dbPath: join(mkdtempSync(join(tmpdir(), 'kequn-llm-drill-')), 'kequn.db'), random: () => 0, llmEnv: { OPENAI_API_KEY: 'sk-drill', OPENAI_BASE_URL: fake.baseURL } });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    const sim = app.sim!;
    const inGroup = () => sim.sent.filter((s) => s.chatId === ROOM).map((s) => s.text);
    for (let i = 0; i < QUESTIONS.length; i++) {
      sim.user(`asker${i}`, `Asker${i}`);
      sim.join(`asker${i}`, ROOM);
    }
    await waitFor(() => inGroup().filter((t) => t.includes('加入')).length >= QUESTIONS.length || undefined, 'the welcomes', 20_000);
    const t0 = Date.now();
    QUESTIONS.forEach((q, i) => sim.say(`asker${i}`, { roomId: ROOM }, q));
    // While the LLM hangs, a newcomer is still welcomed at once.
    sim.user('late', 'Latecomer');
    sim.join('late', ROOM);
    await waitFor(() => inGroup().some((t) => t.includes('Latecomer')) || undefined, 'the latecomer welcome', 10_000);
    const welcomeMs = Date.now() - t0;
    await waitFor(() => app.db.prepare("SELECT count(*) FROM questions WHERE status = 'pending'").pluck().get() === 0 || undefined, 'every question settled', 30_000);
    await waitFor(() => app.db.prepare("SELECT count(*) FROM outbox WHERE status = 'pending'").pluck().get() === 0 || undefined, 'the answers sent', 10_000);
    const settledMs = Date.now() - t0;
    const answered = app.db.prepare("SELECT count(*) FROM questions WHERE status = 'answered' AND answered_via = 'faq'").pluck().get() as number;
    const hung = fake.requests.length;

    // The endpoint is back: the next question goes through the LLM.
    fake.fallback = { completion: '{"answer": "推荐 VS Code（LLM 回答）。", "source": "editor"}' };
    sim.user('after', 'After');
    // In private: the editor entry was just answered in the group (qa.repeat_cooldown keeps it quiet there).
    sim.say('after', 'bot', '大家写代码都用什么编辑器？');
    await waitFor(() => sim.sent.some((s) => s.chatId === 'after' && s.text.includes('LLM 回答')) || undefined, 'an LLM answer after recovery', 10_000);
    console.log(`llm fault drill: ${QUESTIONS.length} questions during the hang (${hung} LLM calls hung), ${answered} answered from the FAQ within ${settledMs} ms; newcomer welcomed after ${welcomeMs} ms; LLM answers again after recovery`);
    expect(answered).toBe(QUESTIONS.length);
    expect(hung).toBeGreaterThanOrEqual(1);
    expect(welcomeMs).toBeLessThan(5000);
    await app.stop();
    await fake.close();
  });
});
