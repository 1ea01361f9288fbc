import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/flows/index.js';

describe('docs/configuration.md', () => {
  const doc = readFileSync('docs/configuration.md', 'utf8');
  it('documents every fact and every action the rule engine knows', () => {
    const missing = [...registry.facts.keys(), ...registry.actions.keys()].filter((name) => !doc.includes(`\`${name}`));
    expect(missing).toEqual([]);
  });
});
