import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScenarioCommand } from '../../src/testing/runner.js';
import { DEMO_CONFIG_DIR } from '../helpers/fixtures.js';

async function run(paths: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  // The tests' own course: the seller's config/ is theirs to change (test/fixtures/course).
  const code = await runScenarioCommand(paths, { configDir: DEMO_CONFIG_DIR, write: (l) => out.push(l) });
  return { code, out };
}

describe('kequn test (conversation tests)', () => {
  // Every scenario of test/scenarios, one after another (some play days of virtual time): more than the default 30 s on a busy machine.
  it('plays the course scenarios and they pass', { timeout: 180_000 }, async () => {
    const { code, out } = await run(['test/scenarios']);
    expect(out.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(out.filter((l) => l.startsWith('ok   ')).length).toBeGreaterThanOrEqual(4);
    expect(code).toBe(0);
  });

  it('reports a failing expectation with the step, the file line and a transcript, exit 1', async () => {
    const { code, out } = await run(['test/fixtures/scenarios/failing.yaml']);
    expect(code).toBe(1);
    expect(out[0]).toBe('FAIL expects a message the bot never sends');
    const text = out.join('\n');
    expect(text).toMatch(/step 2 \(.*failing\.yaml:5\): expected a message to @erin containing "这句话机器人不会说"/);
    expect(text).toContain('#python-101: 欢迎 erin');
    expect(out.at(-1)).toBe('0 passed, 1 failed');
  });

  it('rejects a malformed scenario with file, line and key, exit 2', async () => {
    const { code, out } = await run(['test/fixtures/scenarios/malformed.yaml']);
    expect(code).toBe(2);
    expect(out.join('\n')).toMatch(/malformed\.yaml:4 steps\[1\]\.expect.*contians/);
  });

  it('rejects an unknown group as malformed, exit 2', async () => {
    const a = await run(['test/fixtures/scenarios/unknown-group.yaml']);
    expect(a.code).toBe(2);
    expect(a.out.join('\n')).toContain('unknown group "no-such-group"');
  });

  it('fails a pay step when the member has no order awaiting payment, exit 1', async () => {
    const b = await run(['test/fixtures/scenarios/pay.yaml']);
    expect(b.code).toBe(1);
    expect(b.out.join('\n')).toContain('erin has no order awaiting payment');
  });

  it('edit_config: a broken edit fails the step with file, line and key; a text not in the file is malformed; `refused` that loads fails', async () => {
    const broken = await run(['test/fixtures/scenarios/edit-config.yaml']);
    expect(broken.code).toBe(1);
    expect(broken.out.join('\n')).toMatch(/step 1 .*the edited configuration is invalid:\n\s+.*timeline\.yaml:\d+ timeline\[0\]\.when: invalid time of day "25:00"/);
    const missing = await run(['test/fixtures/scenarios/edit-config-missing.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.out.join('\n')).toContain('edit_config: timeline.yaml contains "every wed" 0 times; it must occur exactly once');
    const loads = await run(['test/fixtures/scenarios/edit-config-not-refused.yaml']);
    expect(loads.code).toBe(1);
    expect(loads.out.join('\n')).toContain('expected the edit to be refused with "inside quiet hours", but the edited configuration loaded');
    // The course folder itself is never written.
    expect(readFileSync('test/fixtures/timeline-course/timeline.yaml', 'utf8')).toContain('"-1d 20:00"');
  });

  it('exits 2 when given nothing to run', async () => {
    const { code } = await run(['test/fixtures/does-not-exist']);
    expect(code).toBe(2);
  });
});
