import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { setMemberCohort } from '../../src/flows/cohorts/store.js';
import { inTransaction, openStore } from '../../src/store/db.js';
import { resolveMember } from '../../src/store/members.js';
import { removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

// `kequn stats --cohort ID` on a store file, through the command line (the figures themselves are
// counted by hand in cohorts-dashboard.test.ts, through the engine and signed payments).

const COURSE = fileURLToPath(new URL('../fixtures/cohort-course', import.meta.url));

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = process.stdout.write;
  process.stdout.write = ((s: string) => (lines.push(s), true)) as typeof process.stdout.write;
  try {
    return { code: await main(args), out: lines.join('') };
  } finally {
    process.stdout.write = spy;
  }
}

describe('`kequn stats --cohort`', () => {
  it("narrows the figures to the 期's members (staff left out); an unknown 期 is a Chinese error naming the known ones", async () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'data: ../data/kequn.db', 'data: ./kequn.db') }, COURSE);
    const db = openStore(join(dir, 'kequn.db'));
    const t = Date.parse('2026-03-10T09:00:00+08:00');
    inTransaction(db, () => {
      // 第3期: s1, s2 and the owner (staff); 第4期: s3; s4 in no cohort.
      for (const [who, cohort] of [['s1', 'c3'], ['s2', 'c3'], ['principal', 'c3'], ['s3', 'c4'], ['s4', null]] as const) {
        const { member } = resolveMember(db, { platform: 'wechat', platformId: who, displayName: who, initialStage: 'prospect', now: t });
        if (cohort) setMemberCohort(db, { memberId: member.id, cohortId: cohort, source: 'group', reason: 'test', by: null, now: t });
      }
    });
    db.close();
    const cohortOf = async (args: string[]) => {
      const r = await run(['stats', ...args, '--json', '--config', dir]);
      expect(r.code).toBe(0);
      return (JSON.parse(r.out) as { funnel: { cohort: number }; filter: { cohort: string | null } });
    };
    expect((await cohortOf([])).funnel.cohort).toBe(4);
    const c3 = await cohortOf(['--cohort', 'c3']);
    expect([c3.filter.cohort, c3.funnel.cohort]).toEqual(['c3', 2]);
    expect((await cohortOf(['--cohort', 'c4'])).funnel.cohort).toBe(1);

    const bad = await run(['stats', '--cohort', 'c9', '--config', dir]);
    expect(bad.code).toBe(2);
    expect(bad.out.trim()).toBe('没有这一期 "c9"（已有的期：c3, c4）');
  });
});
