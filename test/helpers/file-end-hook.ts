/**
 * Vitest setup file (vitest.config.ts): what a test file left for its end (test/helpers/file-end.ts),
 * e.g. its scratch PostgreSQL databases. Registered before the file's own hooks, so it runs after
 * them (afterAll hooks run in reverse order): the file has closed its connections by then.
 */
import { afterAll } from 'vitest';
import { runFileEnd } from './file-end.js';

afterAll(() => runFileEnd());
