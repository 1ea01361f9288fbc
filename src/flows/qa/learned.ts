/**
 * What the knowledge base learned, for the people who answer for it: instructors' answers and
 * members' picks from menus, each with who taught it and when. Staff review them in chat with
 * `/faq` and remove one with `/faq remove L12`; `kequn faq list|export` shows the same from the
 * command line (src/cli/faq.ts).
 */
import { localParts } from '../../util/localtime.js';
import { getLearned, listLearned, removeLearned, type LearnedRow } from './store.js';
import { UsageError, type CommandSpec } from '../../core/types.js';

/** The code staff type to name a learned row: `L12`. */
export function learnedCode(id: number): string {
  return `L${id}`;
}

export function parseLearnedCode(code: string): number | undefined {
  const m = /^L(\d{1,12})$/i.exec(code.trim());
  return m ? Number(m[1]) : undefined;
}

/** 03-02 10:00 in the course's time zone. */
export function shortTime(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}

/** One line per learned row: code, wording, what it teaches, who, when. */
export function describeLearned(r: LearnedRow, timeZone: string): string {
  const who = r.taught_by_name || (r.taught_by ? r.taught_by : '老师');
  const how = r.via === 'choice' ? `学员 ${who} 从选项里选的` : `${who} 回答`;
  const what = r.answer !== null ? `新条目 ${r.entry_id}` : `条目 ${r.entry_id} 的问法`;
  const removed = r.removed_at !== null ? `，已于 ${shortTime(r.removed_at, timeZone)} 删除` : '';
  return `${learnedCode(r.id)} 「${r.question.length > 40 ? `${r.question.slice(0, 40)}…` : r.question}」→ ${what}（${how}，${shortTime(r.created_at, timeZone)}${removed}）`;
}

/** How many learned rows `/faq` lists. */
const LIST_SIZE = 10;

/**
 * `/faq` lists the newest learned phrasings and entries privately; `/faq remove L12` removes one
 * (the row stays, marked, for the record) and rebuilds the index without it.
 */
export const faqCommand: CommandSpec = {
  name: 'faq',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/faq   或   /faq remove <L编号>',
  description: '查看知识库最近学到的问法（谁教的），删除教错的一条',
  run(args, ctx) {
    const [sub, code, ...rest] = args.trim().split(/\s+/).filter(Boolean);
    const tz = ctx.config.course.timezone;
    if (sub === undefined || sub === 'list') {
      const rows = listLearned(ctx.db, { limit: LIST_SIZE });
      if (rows.length === 0) {
        ctx.send({ to: 'dm', text: '知识库还没有学到新的问法。' });
        return 'nothing learned yet';
      }
      ctx.send({ to: 'dm', text: [`知识库最近学到的（最新 ${rows.length} 条）：`, ...rows.map((r) => describeLearned(r, tz)), '删掉教错的：/faq remove L编号'].join('\n') });
      return `listed ${rows.length} learned row(s)`;
    }
    if (sub !== 'remove' || code === undefined || rest.length > 0) throw new UsageError('expected /faq or /faq remove L12');
    const id = parseLearnedCode(code);
    if (id === undefined) throw new UsageError(`"${code}" is not a code like L12`);
    const row = getLearned(ctx.db, id);
    if (!row) throw new UsageError(`no learned row ${learnedCode(id)}`);
    if (!removeLearned(ctx.db, { id, by: ctx.member.id, now: ctx.now })) {
      ctx.send({ to: 'dm', text: `${learnedCode(id)} 已经删除过了。` });
      return `${learnedCode(id)} was removed already`;
    }
    ctx.services.qa.reload(ctx.db);
    ctx.send({ to: 'dm', text: `已删除 ${describeLearned({ ...row, removed_at: null }, tz)}。以后这样问不再按它回答。` });
    return `removed ${learnedCode(id)} ("${row.entry_id}") and rebuilt the index`;
  },
};
