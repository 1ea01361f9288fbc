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
