/**
 * The hostile drill (`npm run drills -- hostile`) is a list of attack suites, each run against a
 * real kequn of its own making (app, web server on 127.0.0.1, store file) and reporting what it
 * tried and what went wrong. A suite is one file in this folder plus one line in SUITES below.
 *
 * A problem is an attack that worked: a route answered that should not have, state changed that
 * must not, a member's message waited behind a flood, the event loop froze. `problems` must be
 * empty for the drill to pass; `tried` counts every crafted input sent.
 */
export interface AttackReport {
  /** Inputs sent (requests, messages, config files, guesses). */
  tried: number;
  /** One line per attack or group of attacks: what was tried and what kequn did. */
  lines: string[];
  /** What held that should not have (empty when the drill passes). */
  problems: string[];
}

export interface AttackSuite {
  /** Short name printed by the drill, e.g. `inputs`, `exposure`, `flood`. */
  name: string;
  /** What the suite attacks, one line. */
  title: string;
  run(): Promise<AttackReport>;
}

/** Runs suites in order and sums them into one report. */
export async function runSuites(suites: AttackSuite[], onSuite?: (s: AttackSuite, r: AttackReport) => void): Promise<AttackReport> {
  const total: AttackReport = { tried: 0, lines: [], problems: [] };
  for (const s of suites) {
    const r = await s.run();
    onSuite?.(s, r);
    total.tried += r.tried;
    total.lines.push(...r.lines.map((l) => `${s.name}: ${l}`));
    total.problems.push(...r.problems.map((p) => `${s.name}: ${p}`));
  }
  return total;
}
