import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * WAL checkpoints on a worker thread. SQLite otherwise checkpoints inside the commit that takes
 * the WAL past `wal_autocheckpoint` pages (1,000 by default): that commit copies the WAL into the
 * database file and fsyncs both, 10-40 ms on a busy disk, and the event being handled waits (the
 * pipeline bench's p99). Here a second connection on a worker thread runs a PASSIVE checkpoint
 * every CHECKPOINT_EVERY_MS; PASSIVE never blocks the writer, and the copying and fsyncs happen
 * beside the event loop, not in it.
 *
 * Under sustained writes a PASSIVE checkpoint never quite catches up, and the WAL only starts
 * over once it has been fully copied. The main connection therefore keeps an autocheckpoint as
 * a bound, at BOUND_PAGES: by then the worker has copied almost everything, so that inline
 * checkpoint is short, and it lets the WAL start over. `journal_size_limit` then trims the file.
 */
const CHECKPOINT_EVERY_MS = 100;
const BOUND_PAGES = 10_000;
const WAL_FILE_LIMIT_BYTES = 64 * 1024 * 1024;
/** How long closing the store waits for the worker's connection to close (a checkpoint in flight). */
const STOP_WAIT_MS = 5_000;

// Plain CommonJS evaluated in the worker, so it runs the same under tsx, vitest and a build.
// state[0]: 0 running, 1 stop asked, 2 stopped (its connection is closed).
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const state = new Int32Array(workerData.state);
function done(db) {
  if (db) try { db.close(); } catch {}
  Atomics.store(state, 0, 2);
  Atomics.notify(state, 0);
  parentPort.close();
}
if (Atomics.load(state, 0) !== 0) done();
else {
  let db;
  try {
    const Database = require(workerData.driver);
    db = new Database(workerData.path, { fileMustExist: true });
    db.pragma('busy_timeout = 0');
  } catch {
    done(db);
    db = undefined;
  }
  if (db) {
    const tick = () => {
      if (Atomics.load(state, 0) !== 0) { clearInterval(timer); return done(db); }
      try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    };
    const timer = setInterval(tick, workerData.everyMs);
    parentPort.on('message', tick);
  }
}
`;

/**
 * Starts the checkpoint worker for the store file at `path` and makes `db.close()` stop it first
 * (waiting for its connection to close, so the last close still folds the WAL into the file).
 */
export function checkpointInBackground(db: Database.Database, path: string): void {
  db.pragma(`wal_autocheckpoint = ${BOUND_PAGES}`);
  db.pragma(`journal_size_limit = ${WAL_FILE_LIMIT_BYTES}`);
  const state = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, {
    eval: true,
    // Plain CommonJS: none of the parent's loaders (tsx) are needed, and each would cost memory.
    execArgv: [],
    workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), everyMs: CHECKPOINT_EVERY_MS, state: state.buffer },
  });
  worker.unref();
  // A worker that cannot start leaves the bound autocheckpoint doing the work.
  worker.on('error', () => Atomics.store(state, 0, 2));
  const close = db.close.bind(db);
  db.close = () => {
    if (Atomics.compareExchange(state, 0, 0, 1) === 0) {
      worker.postMessage('stop');
      Atomics.wait(state, 0, 1, STOP_WAIT_MS);
    }
    return close();
  };
}
