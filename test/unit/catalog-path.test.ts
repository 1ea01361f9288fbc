import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { DEMO_CONFIG_DIR, loadProblems, removeTempDirs, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

describe('catalog: a product\'s place on the course path', () => {
  it('tags, topics and requires default to empty; requires names known products', () => {
    const config = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    const p = config.catalog.products['python-vip']!;
    expect([p.tags, p.topics, p.requires]).toEqual([[], [], []]);
    const problems = loadProblems(tempConfig({ 'catalog.yaml': (t) => t.replace('remove_on_refund: true', 'remove_on_refund: true\n    requires: [python-adv]') }));
    expect(problems.map((p) => [basename(p.file), p.keyPath, p.message])).toEqual([['catalog.yaml', 'products.python-vip.requires[0]', 'unknown product "python-adv" (products: python-vip)']]);
  });
});

describe('catalog: products sold by cohort, and products of their own (`cohort: none`)', () => {
  const TWO = '\ncohorts:\n  - { id: c3, name: 第3期, start: "2027-03-16", groups: [python-vip] }\n';
  it('a `cohort: none` product sells no cohort seat and lets its buyer into its own groups; a bundle holding a cohort product gets both', async () => {
    const { cohortForCheckout, accessGroups } = await import('../../src/flows/orders/cohort-seats.js');
    const { cohortsService } = await import('../../src/flows/cohorts/service.js');
    const config = loadConfig(tempConfig({ 'kequn.yaml': (t) => t + TWO, 'catalog.yaml': (t) => t.replace('remove_on_refund: true', 'remove_on_refund: true\n    cohort: none') }), { env: {} });
    const cohorts = cohortsService(config);
    const product = config.catalog.products['python-vip']!;
    expect(product.cohort).toBe('none');
    expect(cohortForCheckout(undefined as never, product, cohorts, Date.parse('2027-01-01T00:00:00Z'))).toEqual({ ok: true, cohort: undefined });
    expect(accessGroups(product, undefined)).toEqual(['python-vip']);
    const c3 = { ...cohorts.byId('c3')!, paidGroups: ['vip-c3'] };
    expect(accessGroups({ groups: ['python-vip'] }, c3)).toEqual(['vip-c3']);
    expect(accessGroups({ groups: ['python-vip', 'extra'], bundle: ['a', 'b'] }, c3)).toEqual(['vip-c3', 'python-vip', 'extra']);
  });

  it('`cohort: none` without groups is refused at its key', () => {
    const problems = loadProblems(tempConfig({ 'kequn.yaml': (t) => t + TWO, 'catalog.yaml': (t) => t.replace('groups: [python-vip]', 'cohort: none') }));
    expect(problems.map((p) => [basename(p.file), p.keyPath, p.message])).toEqual([['catalog.yaml', 'products.python-vip.groups', 'a product with `cohort: none` unlocks its own paid groups: name them']]);
  });
});
