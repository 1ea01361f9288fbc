/**
 * Draws posters in a process of their own, started with the first poster and ended when no
 * poster was asked for a while (IDLE_MS): satori, resvg and the fonts take about 100 MB once a
 * poster has been drawn, which a bot that draws a poster now and then should not keep for good.
 * A process rather than a worker thread: a thread's native memory (resvg, the WebAssembly of the
 * layout engine) stays in the allocator's arenas after the thread ends, about 70 MB of the 107
 * (bench/posters.ts measures both), while an exited process gives all of it back. Posters are
 * drawn one after another there (drawing uses the CPU the bot shares anyway).
 *
 * The process runs render-process.js beside this file in the compiled build; under tsx or
 * vitest (this file is .ts) it runs render-process.ts through tsx's loader.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PosterContent, PosterStyle } from './model.js';
import type { RenderReply, RenderRequest } from './render-process.js';

/** How long the process is kept after its last poster. */
export const IDLE_MS = 60_000;

let idleMs = IDLE_MS;
type Pending = Map<number, { resolve: (png: Buffer) => void; reject: (e: Error) => void }>;
/** The running process and the posters asked of it (an ended process's exit fails only its own). */
let current: { child: ChildProcess; pending: Pending } | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let nextId = 1;
/** Processes started by this one (tests and the bench read it). */
let starts = 0;

/** The script to run and the node options it needs (tsx's loader when running from TypeScript sources). */
function script(): { path: string; execArgv: string[] } {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return { path: fileURLToPath(new URL('./render-process.js', self)), execArgv: [] };
  const tsx = pathToFileURL(join(dirname(createRequire(self).resolve('tsx/package.json')), 'dist/loader.mjs')).href;
  return { path: fileURLToPath(new URL('./render-process.ts', self)), execArgv: ['--import', tsx] };
}

function start(): { child: ChildProcess; pending: Pending } {
  const { path, execArgv } = script();
  // 'advanced': the PNG's bytes travel as bytes, not as JSON.
  const child = fork(path, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending: Pending = new Map();
  const self = { child, pending };
  starts++;
  child.on('message', (reply: RenderReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if ('error' in reply) p.reject(new Error(reply.error));
    else p.resolve(Buffer.from(reply.png.buffer, reply.png.byteOffset, reply.png.byteLength));
    if (pending.size === 0) idleSoon(self);
  });
  const fail = (e: Error) => {
    if (current === self) current = undefined;
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(e);
    }
  };
  child.on('error', fail);
  child.on('exit', (code, signal) => fail(new Error(`the posters' drawing process stopped (${signal ?? `exit code ${code}`})`)));
  return self;
}

/**
 * Ends the process once it has been idle for idleMs (a new poster meanwhile keeps it). An idle
 * process does not keep the bot's event loop alive (a bot that stops exits at once); one drawing does.
 */
function idleSoon(t: { child: ChildProcess; pending: Pending }): void {
  t.child.unref();
  (t.child.channel as { unref?: () => void } | undefined)?.unref?.();
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (current === t && t.pending.size === 0) stopRenderer();
  }, idleMs);
  idleTimer.unref();
}

/** The poster as a PNG, drawn in the posters' process (started now if it is not running). */
export function renderInProcess(content: PosterContent, style: PosterStyle): Promise<Buffer> {
  clearTimeout(idleTimer);
  const t = (current ??= start());
  t.child.ref();
  (t.child.channel as { ref?: () => void } | undefined)?.ref?.();
  const id = nextId++;
  return new Promise<Buffer>((resolve, reject) => {
    t.pending.set(id, { resolve, reject });
    t.child.send({ id, content, style } satisfies RenderRequest);
  });
}

/** Ends the process now (it exits when its channel closes); posters still being drawn fail. */
export function stopRenderer(): void {
  clearTimeout(idleTimer);
  const t = current;
  current = undefined;
  if (t?.child.connected) t.child.disconnect();
}

/** Whether the process is running (and its pid), and how many were started by this one. */
export function rendererState(): { running: boolean; starts: number; pid?: number } {
  return { running: current !== undefined, starts, ...(current?.child.pid ? { pid: current.child.pid } : {}) };
}

/** How long an idle process is kept (tests shorten it); returns the previous value. */
export function setRendererIdleMs(ms: number): number {
  const before = idleMs;
  idleMs = ms;
  return before;
}
