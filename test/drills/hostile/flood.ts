/**
 * Flood suite: one hostile member (or sixty) against a running kequn on the default pacing, each
 * attack on a kequn of its own (createApp on a store file, the web server on 127.0.0.1, virtual
 * time). An attack worked when a newcomer's welcome waited behind it, the staff or the group got a
 * flood of the bot's own messages, sent + queued passed the daily cap, a flooder stayed, a member
 * key reached a member, or the web server stopped answering.
 */
import { createWebApp, startWebServer } from '../../../src/web/server.js';
import { silentLogger } from '../../../src/log.js';
import { dmFlood, floodKequn, groupFlood, soak, welcomeBehind, type FloodKequn } from '../../helpers/flood.js';
import type { AttackReport, AttackSuite } from './suite.js';

const MINUTE = 60_000;
/** A newcomer's welcome must go out within this of the join (virtual time, default pacing). */
const WELCOME_WITHIN = 10_000;

/** Runs `attack` on a fresh kequn with its web server up; the server must still answer after it. */
async function onKequn(report: AttackReport, name: string, attack: (f: FloodKequn) => Promise<void>): Promise<void> {
  const f = await floodKequn();
  const server = await startWebServer(createWebApp({ app: f.app, clock: f.clock, log: silentLogger }), { host: '127.0.0.1', port: 0 });
  try {
    await attack(f);
    const t = performance.now();
    const r = await fetch(`${server.url}/healthz`);
    const ms = Math.round(performance.now() - t);
    if (r.status !== 200 || ms > 2000) report.problems.push(`${name}: /healthz answered ${r.status} in ${ms} ms after the attack`);
  } finally {
    await server.close();
    await f.stop();
  }
}

function welcomeProblems(name: string, r: { welcomeGroupMs: number | undefined; welcomeDmMs: number | undefined }): string[] {
  const late = (ms: number | undefined) => ms === undefined || ms > WELCOME_WITHIN;
  return late(r.welcomeGroupMs) || late(r.welcomeDmMs) ? [`${name}: the newcomer's welcome took ${r.welcomeGroupMs ?? 'forever'} ms (group) / ${r.welcomeDmMs ?? 'forever'} ms (private), more than ${WELCOME_WITHIN} ms`] : [];
}

export const floodSuite: AttackSuite = {
  name: 'flood',
  title: 'floods by members: 300 private questions in 5 s, 1,000 queued escalations, 200 group messages, 60 members chatting for 5 minutes',
  async run() {
    const report: AttackReport = { tried: 0, lines: [], problems: [] };

    await onKequn(report, 'private questions', async (f) => {
      const r = await dmFlood(f, { questions: 300, seconds: 5, joinAfter: 2500, settle: 10 * MINUTE });
      report.tried += r.questions + 1;
      report.lines.push(
        `300 private questions in 5 s, a newcomer joining at 2.5 s: welcome after ${r.welcomeGroupMs} ms (group) / ${r.welcomeDmMs} ms (private); ` +
          `instructors got ${r.staffMessages} messages, the flooder ${r.toFlooder}; ${r.queued} queued in all; peak sent + queued ${r.peak.queued} of ${r.peak.cap}`,
      );
      report.problems.push(...welcomeProblems('private questions', r));
      // qa.escalation.member questions per window, the first at once and the rest merged: 2 per instructor.
      if (r.staffMessages > 4) report.problems.push(`private questions: the instructors got ${r.staffMessages} messages, more than a handful of merged ones`);
      if (r.toFlooder > 1) report.problems.push(`private questions: the flooder was answered ${r.toFlooder} times, not once per window`);
      if (r.peak.queued > r.peak.cap) report.problems.push(`private questions: sent + queued reached ${r.peak.queued}, past the daily cap of ${r.peak.cap}`);
    });

    await onKequn(report, 'queued escalations', async (f) => {
      const r = await welcomeBehind(f, { n: 1000 });
      report.tried += 2;
      report.lines.push(`1,000 escalations queued for the instructors, then a join: welcome after ${r.welcomeGroupMs} ms (group) / ${r.welcomeDmMs} ms (private)`);
      report.problems.push(...welcomeProblems('queued escalations', r));
    });

    await onKequn(report, 'group flood', async (f) => {
      const r = await groupFlood(f, { messages: 200, seconds: 20, settle: 5 * MINUTE });
      report.tried += r.messages;
      report.lines.push(
        `200 group messages in 20 s (moderation on): ${r.moderation.map((m) => `${m.action}:${m.reason}`).join(', ') || 'nothing done'}; removed ${r.removed}; ` +
          `${r.escalated} escalated, instructors got ${r.staffMessages} messages, the group ${r.toGroup}; ${r.queued} queued in all`,
      );
      const limit = f.config.moderation.warnings;
      if (!r.removed || r.moderation.filter((m) => m.action === 'warn').length !== limit) report.problems.push(`group flood: the flooder was not removed after ${limit} warnings (${JSON.stringify(r.moderation)})`);
      if (r.escalated > f.config.qa.escalation.member) report.problems.push(`group flood: ${r.escalated} questions escalated, past qa.escalation.member`);
      if (r.staffMessages > 6 || r.toGroup > 3) report.problems.push(`group flood: the bot answered with ${r.staffMessages} messages to the instructors and ${r.toGroup} to the group`);
    });

    await onKequn(report, 'soak', async (f) => {
      const r = await soak(f, { members: 60, minutes: 5, perSecond: 30, rejoinAfter: 30_000, afterRemoval: true });
      report.tried += r.messages + r.rejoins;
      const warned = [...r.warningsAnnounced.values()].reduce((n, t) => n + t.length, 0);
      report.lines.push(
        `60 members chatting for 5 minutes: ${r.messages} messages, ${r.rejoins} rejoins, ${r.removals} removals; the bot queued ${r.queued} ` +
          `(${r.toGroup} to the group, ${r.groupModerationAt.length} of them moderation, ${warned} warnings announced)`,
      );
      const window = f.config.moderation.flood.within;
      for (const [member, times] of r.warningsAnnounced) {
        for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! < window) report.problems.push(`soak: ${member} was warned twice within ${window / 1000} s`);
      }
      for (const [member, n] of r.removalsLogged) {
        if ((r.removalNotices.get(member) ?? 0) !== n) report.problems.push(`soak: ${member} was removed ${n} times, the group told ${r.removalNotices.get(member) ?? 0} times`);
      }
      for (let i = 1; i < r.groupModerationAt.length; i++) {
        if (r.groupModerationAt[i]! - r.groupModerationAt[i - 1]! < f.config.moderation.merge) report.problems.push('soak: two moderation messages to the group within a minute');
      }
      report.problems.push(...r.withMemberKeys.map((t) => `soak: a member-facing message prints a member key: ${t}`));
      for (const x of r.returningRemovals) if (x.warningsBetween > 0) report.problems.push(`soak: ${x.member} came back after a removal and got ${x.warningsBetween} warnings before the next`);
      if (r.queued > r.messages / 20) report.problems.push(`soak: the bot queued ${r.queued} messages of its own for ${r.messages} messages`);
      if (f.peak.queued > f.peak.cap) report.problems.push(`soak: sent + queued reached ${f.peak.queued}, past the daily cap of ${f.peak.cap}`);
    });
    return report;
  },
};
