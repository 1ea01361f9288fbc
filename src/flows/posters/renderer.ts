/**
 * Draws posters in a thread of their own, started with the first poster and ended when no poster
 * was asked for a while (IDLE_MS): satori, resvg and the fonts take about 100 MB once a poster
 * has been drawn, which a bot that draws a poster now and then should not keep for good. Posters
 * are drawn one after another in the thread (drawing uses the CPU the bot shares anyway).
 *
 * The thread runs render-thread.js beside this file in the compiled build; under tsx or vitest
 * (this file is .ts) it registers tsx first, so the same code runs in development and tests.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PosterContent, PosterStyle } from './model.js';
import type { RenderReply, RenderRequest } from './render-thread.js';

/** How long the thread is kept after its last poster. */
export const IDLE_MS = 60_000;

let idleMs = IDLE_MS;
type Pending = Map<number, { resolve: (png: Buffer) => void; reject: (e: Error) => void }>;
/** The running thread and the posters asked of it (an ended thread's exit fails only its own). */
let thread: { worker: Worker; pending: Pending } | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let nextId = 1;
/** Threads started in this process (tests and the bench read it). */
let starts = 0;

/** The thread's script and, when running from TypeScript sources, tsx's loader to register first. */
function script(): { url: string; tsx?: string } {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return { url: new URL('./render-thread.js', self).href };
  const require = createRequire(self);
  const tsx = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  return { url: new URL('./render-thread.ts', self).href, tsx };
}

// Evaluated as a script (no file of its own to compile): loads the loader if needed, then the thread's module.
const BOOT = `(async () => {
  const { workerData } = await import('node:worker_threads');
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.url);
})();`;

function start(): { worker: Worker; pending: Pending } {
  const w = new Worker(BOOT, { eval: true, workerData: script(), name: 'kequn-posters' });
  const pending: Pending = new Map();
  const self = { worker: w, pending };
  starts++;
  w.on('message', (reply: RenderReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if ('error' in reply) p.reject(new Error(reply.error));
    else p.resolve(Buffer.from(reply.png.buffer, reply.png.byteOffset, reply.png.byteLength));
    if (pending.size === 0) idleSoon(self);
  });
  const fail = (e: Error) => {
    if (thread === self) thread = undefined;
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(e);
    }
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the posters' drawing thread stopped (exit code ${code})`)));
  return self;
}

/**
 * Ends the thread once it has been idle for idleMs (a new poster meanwhile keeps it). An idle
 * thread does not keep the process alive (a bot that stops exits at once); one drawing does.
 */
function idleSoon(t: { worker: Worker; pending: Pending }): void {
  t.worker.unref();
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (thread === t && t.pending.size === 0) void stopRenderer();
  }, idleMs);
  idleTimer.unref();
}

/** The poster as a PNG, drawn in the posters' thread (started now if it is not running). */
export function renderInThread(content: PosterContent, style: PosterStyle): Promise<Buffer> {
  clearTimeout(idleTimer);
  const t = (thread ??= start());
  t.worker.ref();
  const id = nextId++;
  return new Promise<Buffer>((resolve, reject) => {
    t.pending.set(id, { resolve, reject });
    t.worker.postMessage({ id, content, style } satisfies RenderRequest);
  });
}

/** Ends the thread now (the bot stops); posters still being drawn fail. */
export async function stopRenderer(): Promise<void> {
  clearTimeout(idleTimer);
  const t = thread;
  thread = undefined;
  if (t) await t.worker.terminate();
}

/** Whether the thread is running, and how many were started in this process. */
export function rendererState(): { running: boolean; starts: number } {
  return { running: thread !== undefined, starts };
}

/** How long an idle thread is kept (tests shorten it); returns the previous value. */
export function setRendererIdleMs(ms: number): number {
  const before = idleMs;
  idleMs = ms;
  return before;
}
