import { describe, expect, it } from 'vitest';

// The app's features compose into one registry when src/app.ts loads, and the tests' course loads
// with it. Imported inside the test, not at the top of the file: a composition that throws (a
// feature without its name or the services it provides) then fails this test instead of the
// file's import. `npm run mutation` runs this file with every module's own tests, because Stryker
// counts a mutant under which no test file loads (0 tests ran) as survived, not killed.
describe('the app', () => {
  it('composes its features and loads the tests\' course', async () => {
    const { FEATURES, loadConfig, registry } = await import('../../src/app.js');
    expect(new Set(FEATURES.map((f) => f.name)).size).toBe(FEATURES.length);
    expect(FEATURES.every((f) => f.name.length > 0)).toBe(true);
    expect([...registry.commands.keys()]).toEqual(expect.arrayContaining(['stage', 'tag']));
    const config = loadConfig('test/fixtures/course', { env: {} });
    expect(config.stageIds).toEqual(['prospect', 'trial', 'nurture', 'paid', 'mature', 'loyal', 'churned']);
  });
});
