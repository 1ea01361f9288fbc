import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig } from '../../src/app.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { silentLogger } from '../../src/log.js';
import { buildIndex, QaIndex } from '../../src/flows/qa/retrieval.js';
import type { QaService } from '../../src/flows/qa/service.js';
import { decodeIndexes, encodeIndexes, FORMAT_VERSION, indexKey } from '../../src/flows/qa/stored-index.js';
import { recordLearned } from '../../src/flows/qa/store.js';
import { syntheticBank, syntheticQueries } from '../../src/flows/qa/synthetic.js';
import { analysisCount } from '../../src/flows/qa/tokenize.js';
import { QaService as Service } from '../../src/flows/qa/service.js';
import { storedIndexDir } from '../../src/flows/qa/stored-index.js';
import { openStore } from '../../src/store/db.js';
import { demoConfig, removeTempDirs, replaceOnce, T0, tempConfig, tempDir } from '../helpers/fixtures.js';
import { freshPgUrl, pgAdminUrl } from '../helpers/store.js';

// The Q&A index stored beside the store (src/flows/qa/stored-index.ts): a second start reads it
// instead of analysing the FAQ again; a changed FAQ, a damaged or foreign file is built again.

afterAll(removeTempDirs);

const dataDir = () => tempDir('kequn-qa-stored-');

/** Starts kequn on `course` and store `data` (as `kequn start` builds it), returns its Q&A service, stops it. */
async function start(course: string, data: string, during?: (qa: QaService) => void): Promise<{ qa: QaService; analyses: number }> {
  const before = analysisCount();
  const app = await createApp({ config: loadConfig(course, { env: { KEQUN_DATA: data } }), clock: new VirtualClock(T0), log: silentLogger, live: false, dbPath: data });
  const qa = app.kernel.currentServices.qa;
  const analyses = analysisCount() - before;
  during?.(qa);
  await app.stop();
  return { qa, analyses };
}

const QUESTIONS = ['Python 环境怎么安装', 'pip 太慢了怎么办', '学费多少钱', '直播几点开始', 'pandas 读 excel', '有回放吗', 'VS Code 好用吗', 'how do I install python'];
const answersOf = (qa: QaService) => QUESTIONS.map((q) => qa.found(q, 5));

const storedFiles = (data: string) => readdirSync(join(data, '..', 'qa-index')).filter((f) => f.endsWith('.qaidx'));

describe('stored Q&A index', () => {
  it('is built and stored at the first start, read at the second (no text analysed), with the same answers', async () => {
    const course = tempConfig();
    const data = join(dataDir(), 'kequn.db');
    const first = await start(course, data);
    expect(first.qa.origin.from).toBe('built');
    expect(first.qa.origin.note).toMatch(/none stored/);
    expect(first.analyses).toBeGreaterThan(0);
    expect(storedFiles(data)).toHaveLength(1);
    const second = await start(course, data);
    expect(second.qa.origin).toMatchObject({ from: 'stored' });
    expect(second.analyses).toBe(0);
    expect(second.qa.size).toBe(first.qa.size);
    expect(answersOf(second.qa)).toEqual(answersOf(first.qa));
    expect(answersOf(first.qa)[0]!.hits[0]!.id).toBe('install-python');
    expect(second.qa.entry('install-python')).toEqual(first.qa.entry('install-python'));
    expect(second.qa.phrasings()).toEqual(first.qa.phrasings());
    expect(second.qa.lessonCandidates('列表', 2)).toEqual(first.qa.lessonCandidates('列表', 2));
  });

  it('is built again when the FAQ changes, and that one is read at the next start', async () => {
    const data = join(dataDir(), 'kequn.db');
    await start(tempConfig(), data);
    const changed = tempConfig({ 'faq.yaml': (t) => replaceOnce(t, '每周二、周四晚上 20:00 直播', '每周三晚上 19:30 直播') });
    const after = await start(changed, data);
    expect(after.qa.origin.from).toBe('built');
    expect(after.qa.origin.note).toMatch(/none stored/);
    expect(after.qa.ask('直播课什么时间上？')?.answer).toMatch(/每周三晚上 19:30/);
    const again = await start(changed, data);
    expect(again.qa.origin.from).toBe('stored');
    expect(again.qa.ask('直播课什么时间上？')?.answer).toMatch(/每周三晚上 19:30/);
    expect(storedFiles(data)).toHaveLength(2);
  });

  it('a damaged stored index is ignored and built again (checksum, truncation, another format)', async () => {
    const course = tempConfig();
    const data = join(dataDir(), 'kequn.db');
    const first = await start(course, data);
    const file = join(data, '..', 'qa-index', storedFiles(data)[0]!);
    const good = readFileSync(file);
    const damages: [string, Buffer, RegExp][] = [
      ['one byte flipped', Buffer.from(good).fill(good[good.length >> 1]! ^ 0xff, good.length >> 1, (good.length >> 1) + 1), /checksum/],
      ['truncated', good.subarray(0, good.length - 100), /checksum/],
      ['empty', Buffer.alloc(0), /not a stored/],
      ['another format version', (() => { const b = Buffer.from(good); b.writeUInt32LE(FORMAT_VERSION + 1, 8); return b; })(), /format/],
    ];
    for (const [what, bytes, why] of damages) {
      writeFileSync(file, bytes);
      const s = await start(course, data);
      expect(s.qa.origin.from, what).toBe('built');
      expect(s.qa.origin.note, what).toMatch(why);
      expect(s.analyses, what).toBeGreaterThan(0);
      expect(answersOf(s.qa), what).toEqual(answersOf(first.qa));
      // rewritten whole: the next start reads it
      expect(readFileSync(file).equals(good), what).toBe(true);
      expect((await start(course, data)).qa.origin.from, what).toBe('stored');
    }
  });

  it('what instructors taught is added after reading the stored index', async () => {
    const course = tempConfig();
    const data = join(dataDir(), 'kequn.db');
    await start(course, data);
    const app = await createApp({ config: loadConfig(course, { env: { KEQUN_DATA: data } }), clock: new VirtualClock(T0), log: silentLogger, live: false, dbPath: data });
    recordLearned(app.db, { entryId: 'schedule', question: '周几有课', answer: null, questionId: null, now: T0 });
    recordLearned(app.db, { entryId: 'refund-xyz', question: '怎么退款', answer: '七天内无理由退款，私信班主任。', questionId: null, now: T0 });
    await app.stop();
    const s = await start(course, data);
    expect(s.qa.origin.from).toBe('stored');
    expect(s.qa.ask('周几有课')?.entryId).toBe('schedule');
    expect(s.qa.ask('怎么退款')).toMatchObject({ entryId: 'refund-xyz', answer: '七天内无理由退款，私信班主任。' });
  });
});

describe.skipIf(!pgAdminUrl)('stored Q&A index on PostgreSQL', () => {
  it('is kept in a folder named after the database, read at the second build', () => {
    const url = freshPgUrl();
    const db = openStore(url);
    let dir: string | undefined;
    try {
      const config = { ...demoConfig(), dataPath: url };
      dir = storedIndexDir(db, config)!;
      expect(dir.startsWith(tmpdir())).toBe(true);
      expect(Service.build(config, db).origin.from).toBe('built');
      const again = Service.build(config, db);
      expect(again.origin.from).toBe('stored');
      expect(again.ask('Python 环境怎么安装？')?.entryId).toBe('install-python');
    } finally {
      db.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stored index bytes', () => {
  const bank = syntheticBank(1500);
  const built = buildIndex(bank);
  const key = indexKey({ bank });
  const bytes = encodeIndexes(key, [built]);

  it('gives an index that ranks and scores every query exactly as the one it was made from', () => {
    const r = decodeIndexes(bytes, key);
    if (!('indexes' in r)) throw new Error(r.error);
    const read = r.indexes[0]!;
    for (const q of syntheticQueries(bank, 300)) expect(read.searchDetailed(q.query, 5)).toEqual(built.searchDetailed(q.query, 5));
    // and grows the same way afterwards
    built.addPhrasing('s7', '一个新的问法 new phrasing');
    read.addPhrasing('s7', '一个新的问法 new phrasing');
    expect(read.searchDetailed('新的问法', 5)).toEqual(built.searchDetailed('新的问法', 5));
  });

  it('is refused under another key (another FAQ, analyzer or format)', () => {
    expect(decodeIndexes(bytes, indexKey({ bank: bank.slice(1) }))).toEqual({ error: 'made from another FAQ' });
  });

  it('is refused when its checksum holds but its content does not add up', () => {
    // A writer's bug rather than a disk's: arrays whose sizes or ids disagree, re-encoded with a good checksum.
    const state = buildIndex(bank.slice(0, 50)).exportState();
    const cases: [string, () => void][] = [
      ['a posting names a unit past the end', () => (state.postUnits[3] = state.unitEntry.length + 5)],
      ['a unit names an entry past the end', () => (state.unitEntry[0] = state.ids.length)],
      ['a term list out of order', () => state.unitTermIds.reverse()],
    ];
    for (const [what, damage] of cases) {
      const s = buildIndex(bank.slice(0, 50)).exportState();
      Object.assign(state, s);
      damage();
      expect(() => QaIndex.fromState(state), what).toThrow(/stored index/);
    }
  });
});
