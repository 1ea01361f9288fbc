/**
 * Several processes on one PostgreSQL database at the same moment, for races a single process
 * (one synchronous connection) cannot produce: each runs `body` (an ES module's top-level code,
 * with `db` open on `url` and `src(path)` importing from src/) after a common start instant, so
 * their transactions overlap. Resolves with each process's exit code and stderr.
 */
import { spawn } from 'node:child_process';

export async function runTogether(url: string, body: string, processes = 2): Promise<{ code: number | null; err: string }[]> {
  const srcDir = new URL('../../src/', import.meta.url).pathname;
  const code = `
    const src = (p) => import(${JSON.stringify(srcDir)} + p);
    const { openStore } = await src('store/db.ts');
    const db = openStore(process.env.RT_URL);
    // tsx takes a moment to start; the processes begin together after it.
    while (Date.now() < Number(process.env.RT_START)) await new Promise((r) => setTimeout(r, 1));
    ${body}
    db.close();`;
  const start = Date.now() + 2500;
  const one = () =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, RT_URL: url, RT_START: String(start) }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (c) => resolve({ code: c, err }));
    });
  return Promise.all(Array.from({ length: processes }, one));
}
