import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, registry } from '../../src/app.js';
import { Kernel } from '../../src/core/kernel.js';
import { silentLogger } from '../../src/log.js';

import { count, FakeAdapter, joined, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

afterAll(removeTempDirs);

describe('live scheduler: the reminder fan-out runs batch after batch without waiting for the next tick', () => {
  it('25 groups (3 batches) are all planned within about a second of the due time', async () => {
    const handles = Array.from({ length: 25 }, (_, i) => `g${String(i).padStart(2, '0')}`);
    const config = loadConfig(
      tempConfig({
        'kequn.yaml': (t) => {
          let out = replaceOnce(t, 'groups:\n  python-101:', `groups:\n${handles.map((h) => `  ${h}:\n    name: 班级${h}\n    kind: paid\n`).join('')}  python-101:`);
          out = replaceOnce(out, '  groups: [python-101, python-vip]\n', `  groups: [${handles.join(', ')}]\n`);
          return replaceOnce(out, '    groups: [python-vip]   # default: all check-in groups\n', '');
        },
      }),
      { env: {} },
    );
    let now = Date.parse('2026-03-02T19:59:58+08:00');
    const clock = { now: () => now };
    const db = openTestStore();
    const adapter = new FakeAdapter(clock);
    const kernel = new Kernel({ registry, config, db, clock, adapters: [adapter], log: silentLogger, live: true, random: () => 0 });
    await kernel.start();
    for (const h of handles) await kernel.handle(joined(`${h}-a`, { at: now, group: { id: `${h}@chatroom`, name: h } }));
    now = Date.parse('2026-03-02T20:00:00+08:00');
    const t0 = Date.now();
    while (count(db, 'reminders_sent') < handles.length && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const elapsed = Date.now() - t0;
    await kernel.stop();
    expect(count(db, 'reminders_sent')).toBe(handles.length);
    expect(count(db, 'jobs', "kind = 'checkin.reminder' AND status = 'done'")).toBe(3);
    // The first batch waits for the cron second; the other two follow at once (not 2 s later).
    expect(elapsed).toBeLessThan(1900);
  });
});
