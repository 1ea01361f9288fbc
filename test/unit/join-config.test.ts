import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { poolOf } from '../../src/flows/join/config.js';
import { DEMO_CONFIG_DIR, lineOf, loadProblems, removeTempDirs, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const SECOND_GROUP = '  python-102:\n    name: Python 入门体验2群\n    kind: trial\n    wechat: python-102@chatroom\n  python-vip:\n';
const withJoin = (yaml: string) => tempConfig({ 'kequn.yaml': (t) => t.replace('  python-vip:\n', SECOND_GROUP) + yaml });

describe('join: kequn.yaml `join:`', () => {
  it('a course without the section has no pools or channels, and each trial group is a pool of one (200 on WeChat)', () => {
    const config = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    expect(config.join.pools).toEqual({});
    expect(config.join.channels).toEqual({});
    expect(config.join.matchWindowMs).toBe(10 * 60_000);
    expect(poolOf(config, 'python-101')).toEqual({ id: 'python-101', groups: ['python-101'], platform: 'wechat', capacity: 200, lowAt: 20 });
    // A paid group, a handle nobody has and a prototype name are no pool.
    expect(poolOf(config, 'python-vip')).toBeUndefined();
    expect(poolOf(config, 'nope')).toBeUndefined();
    expect(poolOf(config, '__proto__')).toBeUndefined();
    expect(poolOf(config, 'constructor')).toBeUndefined();
  });

  it('reads pools with their defaults and channels as names or { name, spend_fen }', () => {
    const config = loadConfig(withJoin('\njoin:\n  pools:\n    py: { groups: [python-102, python-101] }\n    small: { groups: [python-101], capacity: 10 }\n  channels:\n    gzh: 公众号\n    xhs: { name: 小红书, spend_fen: 50000 }\n  match_window: 5m\n'), { env: {} });
    expect(config.join.pools.py).toEqual({ id: 'py', groups: ['python-102', 'python-101'], platform: 'wechat', capacity: 200, lowAt: 20 });
    // A small pool is low at a fifth of its places.
    expect(config.join.pools.small).toEqual({ id: 'small', groups: ['python-101'], platform: 'wechat', capacity: 10, lowAt: 2 });
    expect(config.join.channels).toEqual({ gzh: { tag: 'gzh', name: '公众号' }, xhs: { tag: 'xhs', name: '小红书', spendFen: 50000 } });
    expect(config.join.matchWindowMs).toBe(5 * 60_000);
  });

  it('the demo course (config/) has a pool of two trial groups and two channels', () => {
    const config = loadConfig(join(DEMO_CONFIG_DIR, '..', '..', '..', 'config'), { env: {} });
    expect(config.join.pools['python-trial']).toMatchObject({ groups: ['python-101', 'python-102'], capacity: 200, lowAt: 20, platform: 'wechat' });
    expect(Object.keys(config.join.channels)).toEqual(['gzh', 'xhs']);
  });

  it.each([
    ['    py: { groups: [python-101, nope] }', 'join.pools.py.groups[1]', /unknown group "nope"/],
    ['    py: { groups: [python-101, python-vip] }', 'join.pools.py.groups[1]', /kind paid: a join page is public/],
    ['    py: { groups: [python-101, python-101] }', 'join.pools.py.groups[1]', /listed twice/],
    ['    py: { groups: [python-101], platform: telegram }', 'join.pools.py.platform', /without a telegram id cannot be on a telegram join page: python-101/],
    ['    py: { groups: [python-101, python-102], capacity: 3, low_at: 6 }', 'join.pools.py.low_at', /must be below the pool's places \(3 × 2\)/],
    ['    python-102: { groups: [python-101] }', 'join.pools.python-102', /is a group handle/],
    ['    py: { groups: [] }', 'join.pools.py.groups', /.+/],
    ['    py: { groups: [python-101], capacity: 0 }', 'join.pools.py.capacity', /.+/],
  ])('refuses %s at its file, line and key', (pool, keyPath, message) => {
    const dir = withJoin(`\njoin:\n  pools:\n${pool}\n`);
    const problems = loadProblems(dir);
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('kequn.yaml');
    expect(problems[0]!.keyPath).toBe(keyPath);
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.line).toBe(lineOf(readFileSync(join(dir, 'kequn.yaml'), 'utf8'), pool.trim()));
  });

  it('refuses a channel tag that cannot go in a link, and a negative spend', () => {
    for (const [channels, keyPath] of [
      ['    "小红书": xhs', 'join.channels.小红书'],
      ['    "a b": x', 'join.channels.a b'],
      ['    xhs: { name: 小红书, spend_fen: -1 }', 'join.channels.xhs'],
    ] as const) {
      const problems = loadProblems(withJoin(`\njoin:\n  channels:\n${channels}\n`));
      expect(problems.length, channels).toBeGreaterThan(0);
      expect(problems[0]!.keyPath.startsWith(keyPath), `${channels}: ${problems[0]!.keyPath}`).toBe(true);
    }
  });

  it('a WeChat capacity above 200 loads with a warning (WeChat admits at most 200 by QR code)', () => {
    const config = loadConfig(withJoin('\njoin:\n  pools:\n    py: { groups: [python-101], capacity: 300 }\n'), { env: {} });
    expect(config.join.pools.py!.capacity).toBe(300);
    expect(config.warnings.map((w) => `${w.keyPath}: ${w.message}`)).toContain('join.pools.py.capacity: WeChat admits at most 200 people by a group QR code; above that newcomers must be invited one by one');
  });
});
