/**
 * `kequn faq list`: what the knowledge base learned (instructors' answers, members' picks from
 * clarification menus), newest first, with who taught it, when, and whether it was removed.
 * `kequn faq export`: the knowledge base as the bot answers from it, one JSON object a line in
 * the bank format `kequn eval-qa` reads (learned phrasings among the alternates, and a "learned"
 * list saying who taught each), so a seller can measure their own FAQ as it is now.
 */
import { openStore, storeExists } from '../store/db.js';
import { describeLearned, learnedCode, shortTime } from '../flows/qa/learned.js';
import { listLearned, type LearnedRow } from '../flows/qa/store.js';
import { loadConfigOrReport } from './check.js';

const USAGE = 'usage: kequn faq list [--limit N] [--config DIR]   |   kequn faq export [--config DIR]';

export function runFaq(opts: { configDir: string; action: string; limit: number; write: (line: string) => void }): number {
  const { write } = opts;
  if (opts.action !== 'list' && opts.action !== 'export') {
    write(USAGE);
    return 2;
  }
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  const tz = config.course.timezone;
  let learned: LearnedRow[] = [];
  if (storeExists(config.dataPath)) {
    const db = openStore(config.dataPath);
    try {
      learned = listLearned(db, { limit: opts.action === 'list' ? opts.limit : Number.MAX_SAFE_INTEGER, includeRemoved: opts.action === 'list' });
    } finally {
      db.close();
    }
  }
  if (opts.action === 'list') {
    if (learned.length === 0) write('知识库还没有学到新的问法（faq.yaml 之外）');
    for (const r of learned) write(describeLearned(r, tz));
    return 0;
  }
  // Oldest first, as the bot loads them.
  const rows = [...learned].reverse();
  const taught = (r: LearnedRow) => ({ code: learnedCode(r.id), question: r.question, via: r.via, taught_by: r.taught_by_name ?? r.taught_by, at: shortTime(r.created_at, tz) });
  const entries = new Map<string, { id: string; question: string; answer: string; alternates: string[]; learned: ReturnType<typeof taught>[] }>();
  for (const e of config.faq) entries.set(e.id, { id: e.id, question: e.question, answer: e.answer, alternates: [...e.alternates], learned: [] });
  for (const r of rows) {
    const e = entries.get(r.entry_id);
    if (r.answer !== null && !e) entries.set(r.entry_id, { id: r.entry_id, question: r.question, answer: r.answer, alternates: [], learned: [taught(r)] });
    else if (e) {
      e.alternates.push(r.question);
      e.learned.push(taught(r));
    }
  }
  for (const e of entries.values()) write(JSON.stringify(e.learned.length ? e : { id: e.id, question: e.question, answer: e.answer, alternates: e.alternates }));
  return 0;
}
