/**
 * A configuration problem, located: `config/rules.yaml:12 rules[0].do[1].reply: unknown template "welcom"`.
 * Loading collects every problem it can find before failing, so one `kequn check` shows them all.
 */
export interface ConfigProblem {
  file: string;
  line: number;
  keyPath: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(public readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line} ${p.keyPath || '(top level)'}: ${p.message}`;
}

/** `['rules', 0, 'do', 1, 'reply']` → `rules[0].do[1].reply` */
export function formatKeyPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}
