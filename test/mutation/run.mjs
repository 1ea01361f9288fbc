/**
 * `npm run mutation`: mutation testing of the modules listed in stryker.config.mjs, one module at
 * a time (each against its own unit tests), then one table of scores. Not part of `npm test`.
 *
 *   npm run mutation                      # every module; incremental: only what changed is rerun
 *   npm run mutation -- pricing streak    # some modules
 *   npm run mutation -- pricing --force   # ignore the incremental file, test every mutant again
 *
 * Exits 1 when a module's score is below GOAL or Stryker failed. Reports (HTML, JSON) and the
 * incremental files are in reports/mutation/<module>/ (not committed: see docs/testing.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LOAD_TEST, MODULES, reportDir } from '../../stryker.config.mjs';

/** The score every module must reach (killed + timed out, of all mutants not excused). */
const GOAL = 90;

const args = process.argv.slice(2);
const force = args.includes('--force');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !MODULES.some((m) => m.name === n));
if (unknown.length > 0) {
  process.stderr.write(`unknown module(s) ${unknown.join(', ')}; modules: ${MODULES.map((m) => m.name).join(', ')}\n`);
  process.exit(2);
}
const chosen = names.length > 0 ? MODULES.filter((m) => names.includes(m.name)) : MODULES;

/**
 * Counts per file of a Stryker JSON report. The score is Stryker's: detected (killed, timeout)
 * over valid (detected, survived, no coverage); ignored mutants (excused in the source with a
 * reason) and compile/runtime errors are not counted.
 */
function scores(report) {
  return Object.entries(report.files).map(([file, { mutants }]) => {
    const n = (status) => mutants.filter((m) => m.status === status).length;
    const detected = n('Killed') + n('Timeout');
    const valid = detected + n('Survived') + n('NoCoverage');
    return { file, killed: n('Killed'), timeout: n('Timeout'), survived: n('Survived'), noCoverage: n('NoCoverage'), ignored: n('Ignored'), score: valid === 0 ? 100 : (100 * detected) / valid };
  });
}

/**
 * Stryker 9.6 reuses the result of a surviving *static* mutant (one in a value computed when its
 * module loads) as long as the mutant's code is unchanged: such a mutant has no per-test coverage,
 * so a test added to kill it is not seen as a reason to test it again. Dropping those results
 * from the incremental file makes every run test them again (killed ones are still reused).
 */
function forgetStaticSurvivors(file) {
  if (!existsSync(file)) return 0;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  let dropped = 0;
  for (const f of Object.values(report.files)) {
    const keep = f.mutants.filter((m) => !(m.static && (m.status === 'Survived' || m.status === 'NoCoverage')));
    dropped += f.mutants.length - keep.length;
    f.mutants = keep;
  }
  if (dropped > 0) writeFileSync(file, JSON.stringify(report));
  return dropped;
}

const rows = [];
let failed = false;
for (const m of chosen) {
  process.stdout.write(`\n=== ${m.name}: ${m.what}\n    mutate ${m.mutate.join(' ')}\n    tests  ${[...m.tests, LOAD_TEST].join(' ')}\n`);
  const again = force ? 0 : forgetStaticSurvivors(`${reportDir(m.name)}/incremental.json`);
  if (again > 0) process.stdout.write(`    ${again} surviving static mutant(s) are tested again\n`);
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...(force ? ['--force'] : [])], {
    stdio: 'inherit',
    env: { ...process.env, KEQUN_MUTATION_MODULE: m.name },
  });
  const file = `${reportDir(m.name)}/mutation.json`;
  if (r.status !== 0 || !existsSync(file)) {
    failed = true;
    rows.push({ module: m.name, file: '(Stryker failed)', score: NaN });
    continue;
  }
  for (const s of scores(JSON.parse(readFileSync(file, 'utf8')))) rows.push({ module: m.name, ...s });
}

const line = (cells) => process.stdout.write(cells.join(' | ') + '\n');
process.stdout.write('\n');
line(['module', 'file', 'score', 'killed', 'timeout', 'survived', 'no cov', 'excused']);
for (const r of rows) {
  const below = !(r.score >= GOAL);
  if (below) failed = true;
  line([r.module, r.file, Number.isNaN(r.score) ? '—' : `${r.score.toFixed(1)}%${below ? ' (below ' + GOAL + '%)' : ''}`, r.killed ?? '', r.timeout ?? '', r.survived ?? '', r.noCoverage ?? '', r.ignored ?? '']);
}
process.exit(failed ? 1 : 0);
