import type { MainConfig } from '../../config/schema.js';
import type { YamlFile } from '../../config/yaml-file.js';
import { didYouMean } from '../../config/suggest.js';

/** Templates the referral flow sends; required when `referral:` is configured. */
export const REFERRAL_TEMPLATES = ['referral_mycode', 'referral_not_yet', 'referral_accepted', 'referral_rejected'] as const;

/**
 * Load-time checks of the lifecycle state machine and the referral section: every stage named in
 * `to`, `lifecycle` and `referral` exists, every stage can be reached from the first one, reward
 * tiers are in order. Problems are reported at the offending key of kequn.yaml (or templates.yaml).
 */
export function checkLifecycle(main: MainConfig, templates: Record<string, string>, file: YamlFile, templatesFile: YamlFile): void {
  const ids = main.stages.map((s) => s.id);
  const known = (s: string) => ids.includes(s);
  const list = ids.join(', ');

  main.stages.forEach((stage, i) => {
    stage.to?.forEach((to, j) => {
      if (!known(to)) file.problem(['stages', i, 'to', j], `unknown stage "${to}"${didYouMean(to, ids)} (stages: ${list})`);
    });
  });
  // Reachability from the first stage (where members start): a stage nobody can enter is a typo
  // or a forgotten `to`, and its rules could never fire.
  const reached = new Set<string>([ids[0]!]);
  const queue = [ids[0]!];
  while (queue.length > 0) {
    const id = queue.shift()!;
    const from = main.stages.find((s) => s.id === id)!;
    for (const to of from.to ?? ids) {
      if (known(to) && !reached.has(to)) {
        reached.add(to);
        queue.push(to);
      }
    }
  }
  main.stages.forEach((stage, i) => {
    if (!reached.has(stage.id)) file.problem(['stages', i, 'id'], `stage "${stage.id}" cannot be reached from "${ids[0]}": no reachable stage lists it in \`to\``);
  });

  for (const key of ['on_paid', 'on_refunded'] as const) {
    const s = main.lifecycle[key];
    if (s !== null && !known(s)) file.problem(['lifecycle', key], `unknown stage "${s}" (stages: ${list})`);
  }

  const r = main.referral;
  if (!r) return;
  r.issue_at.forEach((s, i) => {
    if (!known(s)) file.problem(['referral', 'issue_at', i], `unknown stage "${s}" (stages: ${list})`);
  });
  r.blocked_stages?.forEach((s, i) => {
    if (!known(s)) file.problem(['referral', 'blocked_stages', i], `unknown stage "${s}" (stages: ${list})`);
  });
  if (r.referrer_stage !== null && !known(r.referrer_stage)) file.problem(['referral', 'referrer_stage'], `unknown stage "${r.referrer_stage}" (stages: ${list})`);
  // A cash-back of 0 means "no reward" (the referral still counts); a coupon of 0 is a mistake.
  if (r.reward.kind === 'coupon' && r.reward.fen === 0) file.problem(['referral', 'reward', 'fen'], 'a coupon reward needs its value in fen');
  let last = 0;
  r.tiers.forEach((t, i) => {
    if (t.at <= last) file.problem(['referral', 'tiers', i, 'at'], 'tiers must be in increasing order of `at`');
    last = t.at;
    if (t.kind !== 'free_session' && t.fen === 0) file.problem(['referral', 'tiers', i, 'fen'], `a ${t.kind} tier needs an amount in fen`);
  });
  for (const t of REFERRAL_TEMPLATES) {
    if (!(t in templates)) templatesFile.problem([], `referrals are configured: templates.yaml needs a "${t}" template (see docs/referrals.md)`);
  }
}

/** The stages whose referrers are refused: as configured, else `churned` when the course has it. */
export function blockedStages(main: Pick<MainConfig, 'stages' | 'referral'>): string[] {
  return main.referral?.blocked_stages ?? main.stages.filter((s) => s.id === 'churned').map((s) => s.id);
}
