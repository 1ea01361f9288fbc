import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// src/bot/mock-faker.ts: the simulated WeChat's mock puppet gets faker's English-only build, not
// the main file with its ~50 locales. In a process of its own: this one may have loaded faker.
const SCRIPT = `
import { createRequire } from 'node:module';
const { englishOnlyFaker } = await import('./src/bot/mock-faker.ts');
englishOnlyFaker();
await import('wechaty-puppet-mock');
const require = createRequire(import.meta.url);
const loaded = Object.keys(require.cache);
const faker = createRequire(require.resolve('wechaty-puppet-mock'))('faker');
console.log(JSON.stringify({
  zh: loaded.some((k) => /[\\\\/]faker[\\\\/]lib[\\\\/]locales[\\\\/]zh_CN[\\\\/]/.test(k)),
  en: loaded.some((k) => /[\\\\/]faker[\\\\/]lib[\\\\/]locales[\\\\/]en[\\\\/]/.test(k)),
  locale: faker.locale,
  name: typeof faker.name.findName(),
  city: typeof faker.address.city(),
}));
`;

describe('the mock puppet and faker', () => {
  it('loads only the English locale, the one the mock uses, with the same API', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ zh: false, en: true, locale: 'en', name: 'string', city: 'string' });
  });
});
