import { identitiesOf, stageHistory, tagsOf } from '../store/members.js';
import { recentTraces } from '../store/traces.js';
import { localParts } from '../util/localtime.js';
import { oneLine } from '../util/display-text.js';
import { withCourseStore } from './check.js';
import { channelLines } from './why-channel.js';
import { findOneMember } from './find-member.js';

/**
 * `kequn why <member>`: the recent rule trace for a member — for each event, which rules
 * matched and, for those that did not, which conditions failed and what the facts were.
 */
export function runWhy(opts: { configDir: string; query: string; limit: number; write: (line: string) => void }): number {
  const { write } = opts;
  return withCourseStore(opts.configDir, write, (config, db) => {
    const m = findOneMember(db, opts.query, write);
    if (!m) return 1;
    const tz = config.course.timezone;
    const when = (t: number) => {
      const p = localParts(t, tz);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
    };
    write(`${oneLine(m.display_name)} (${m.id}) — stage ${m.stage} since ${when(m.stage_since)}; tags: ${tagsOf(db, m.id).join(', ') || 'none'}`);
    write(`identities: ${identitiesOf(db, m.id).map((i) => `${i.platform}:${i.platform_id}`).join(', ')}`);
    write(`stages: ${stageHistory(db, m.id).map((t) => `${t.to_stage} (${t.rule_id ?? t.actor}, ${when(t.at)})`).join(' → ')}`);
    for (const line of channelLines(db, config, m.id, when)) write(line);
    const traces = recentTraces(db, m.id, opts.limit).reverse();
    if (traces.length === 0) {
      write('no rule has been checked for this member yet');
      return 0;
    }
    write(`last ${traces.length} rule checks, oldest first:`);
    let lastKey = '';
    for (const t of traces) {
      const key = t.event_id !== null ? `e${t.event_id}` : `j${t.job_id}`;
      const detail = JSON.parse(t.detail) as { trigger: string; conditions: { condition: string; actual: unknown; ok: boolean }[]; actions: string[] };
      if (key !== lastKey) {
        write(`${when(t.at)}  ${t.event_id !== null ? `event #${t.event_id} ${t.event_type}` : `scheduled job #${t.job_id}`} (${detail.trigger})`);
        lastKey = key;
      }
      write(`  ${t.matched ? '✓ fired  ' : '✗ skipped'} ${t.rule_id}`);
      for (const c of detail.conditions) {
        if (!t.matched || !c.ok) write(`      ${c.ok ? 'ok  ' : 'FAIL'} ${oneLine(c.condition)} — was ${oneLine(JSON.stringify(c.actual) ?? 'undefined')}`);
      }
      // Notes can quote a name or a message: one line each, whatever they hold.
      for (const a of detail.actions) write(`      → ${oneLine(String(a))}`);
    }
    return 0;
  });
}
