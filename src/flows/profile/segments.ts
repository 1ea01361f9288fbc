/**
 * Segments: the members whose profile meets a condition map of kequn.yaml `profile.segments`, for
 * `/announce segment:<name>`. The same condition compiler and evaluator as rules
 * (src/core/rules/conditions.ts), over the profile facts only; facts are read lazily per member,
 * so a segment on one fact costs one small query per member.
 */
import type { CourseCheck } from '../../core/feature.js';
import { compileWhen, evaluate, type CompileProblem } from '../../core/rules/conditions.js';
import type { Cond, CourseConfig, FactSpec, Services, Trigger } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';
import type { Member } from '../../store/members.js';
import type { SegmentMember } from './contracts.js';
import { profileFacts } from './facts.js';

const FACTS = new Map<string, FactSpec>(profileFacts.map((f) => [f.name, f]));

function compile(config: CourseConfig, name: string, problems: CompileProblem[]): Cond {
  return compileWhen(config.profile.segments[name] ?? {}, FACTS, config, ['profile', 'segments', name], problems);
}

/** checkCourse: every segment compiles against the profile facts; problems at their key path in kequn.yaml. */
export function checkSegments(config: CourseConfig, check: CourseCheck): void {
  for (const name of Object.keys(config.profile.segments)) {
    const problems: CompileProblem[] = [];
    if (Object.keys(config.profile.segments[name]!).length === 0) problems.push({ path: ['profile', 'segments', name], message: 'a segment needs at least one condition' });
    compile(config, name, problems);
    for (const p of problems) check.problem('kequn.yaml', p.path, p.message);
  }
}

/** Members with an identity on `platform` whose profile meets the segment, in the order they came. */
export function segmentMembers(db: Db, config: CourseConfig, services: Services, name: string, platform: string, now: number): SegmentMember[] {
  const cond = compile(config, name, []);
  const rows = stmt(
    db,
    `SELECT m.id, m.display_name, m.stage, m.stage_since, m.created_at, m.last_seen_at, i.platform_id FROM members m JOIN identities i ON i.member_id = m.id
     WHERE i.platform = ? ORDER BY m.created_at, m.id`,
  ).all(platform) as (Member & { platform_id: string })[];
  const out: SegmentMember[] = [];
  const seen = new Set<string>();
  const trigger = { type: 'timer', platform, eventId: null, jobId: null, group: null, text: '', isDm: true, mentionsBot: false, command: null, isNewMember: false, inviterMemberId: null } as unknown as Trigger;
  for (const r of rows) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    // A segment send is course marketing: a member who said 退订 is never in one.
    if (services.recommend?.optedOut(db, r.id)) continue;
    const member: Member = { id: r.id, display_name: r.display_name, stage: r.stage, stage_since: r.stage_since, created_at: r.created_at, last_seen_at: r.last_seen_at };
    const ctx = { db, config, now, member, services, trigger: { ...trigger, userPlatformId: r.platform_id, replyTo: { kind: 'dm', id: r.platform_id } } } as Parameters<FactSpec['get']>[0];
    const cache = new Map<string, unknown>();
    const get = (f: FactSpec) => {
      if (!cache.has(f.name)) cache.set(f.name, f.get(ctx));
      return cache.get(f.name);
    };
    if (evaluate(cond, get, [])) out.push({ member_id: r.id, platform_id: r.platform_id, display_name: r.display_name, stage: r.stage });
  }
  return out;
}
