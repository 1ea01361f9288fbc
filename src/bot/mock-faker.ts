import Module, { createRequire } from 'node:module';

/**
 * The simulated WeChat's puppet (wechaty-puppet-mock) imports `faker` to invent contacts it is
 * not told about, and `faker`'s main file loads every one of its ~50 locales: about 250 ms of a
 * start on a 2-core machine. Its generator only ever uses the default locale, English, so the
 * English-only build (`faker/locale/en`, the same API and the same default locale) is put in
 * the module cache under the main file's name before the puppet is imported: the puppet then
 * gets that one. Does nothing when faker was already loaded, or when anything is not where it
 * is expected (the puppet then loads faker's main file, as before).
 *
 * Must run before the first import of wechaty-puppet-mock (src/bot/simulator.ts is imported
 * dynamically after it in src/app.ts).
 */
export function englishOnlyFaker(): void {
  try {
    const fromMock = createRequire(createRequire(import.meta.url).resolve('wechaty-puppet-mock'));
    const main = fromMock.resolve('faker');
    if (fromMock.cache[main]) return;
    const stub = new Module(main);
    stub.filename = main;
    stub.exports = fromMock('faker/locale/en') as unknown;
    stub.loaded = true;
    fromMock.cache[main] = stub;
  } catch {
    // faker laid out otherwise (another version of the puppet): its main file is loaded as before.
  }
}
