/**
 * Work a test file leaves for its end: the setup file test/helpers/file-end-hook.ts runs it in an
 * afterAll, while vitest still waits for the worker. Not at the process's exit: vitest ends its
 * forks workers with SIGTERM, and a process killed by a signal runs no 'exit' handler.
 */
// On the global object, not in this module: a test that resets its modules (vi.resetModules)
// imports the store helper again, and that copy's work must reach the setup file's hook too.
const KEY = Symbol.for('kequn.test.file-end');
const pending: Set<() => void> = ((globalThis as Record<symbol, unknown>)[KEY] as Set<() => void> | undefined) ?? new Set();
(globalThis as Record<symbol, unknown>)[KEY] = pending;

/** Runs `fn` once this test file's tests and its own afterAll hooks are done. */
export function atFileEnd(fn: () => void): void {
  pending.add(fn);
}

/** @internal The setup file's afterAll: runs what was left, each once, the first error thrown after all ran. */
export function runFileEnd(): void {
  const fns = [...pending];
  pending.clear();
  let failure: unknown;
  for (const fn of fns) {
    try {
      fn();
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== undefined) throw failure;
}
