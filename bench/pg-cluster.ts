/**
 * A PostgreSQL server for benchmarks. KEQUN_TEST_PG_URL when set (the server the tests use, with
 * whatever settings it has: .ci/run's turns durability off); otherwise a throwaway cluster of
 * Debian's PostgreSQL (/usr/lib/postgresql/<version>/bin) made for this run on a free port of
 * 127.0.0.1 with the server's default, durable settings (fsync on, synchronous_commit on), and
 * removed afterwards. initdb refuses to run as root, so as root the cluster is the postgres
 * user's (runuser), as in .ci/run. Neither: `skipped` says why, and the caller reports that.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchPostgres {
  /** A URL of the server's `postgres` database, for ScratchDatabases. */
  url: string;
  /** Where it comes from, for the report: "KEQUN_TEST_PG_URL" or "throwaway PostgreSQL 15 cluster". */
  origin: string;
  /** Stops and removes a cluster this made; nothing for KEQUN_TEST_PG_URL. Idempotent. */
  stop(): void;
}

export async function benchPostgres(): Promise<BenchPostgres | { skipped: string }> {
  const given = process.env.KEQUN_TEST_PG_URL;
  if (given) return { url: given, origin: 'KEQUN_TEST_PG_URL', stop: () => undefined };
  const bin = newestPostgresBin();
  if (!bin) return { skipped: 'no PostgreSQL: set KEQUN_TEST_PG_URL, or install the postgresql package (initdb under /usr/lib/postgresql/*/bin)' };
  const asRoot = process.getuid?.() === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    owner = postgresUser();
    if (!owner) return { skipped: 'running as root and there is no postgres user to run initdb as' };
  }
  const run = (cmd: string, args: string[]) => {
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  };
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  let started = false;
  const stop = () => {
    process.off('exit', stop);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    if (started) {
      started = false;
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // already down
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const interrupted = (signal: NodeJS.Signals) => {
    stop();
    process.kill(process.pid, signal);
  };
  process.on('exit', stop);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const port = await freePort();
    // --no-sync: initdb's own files are not flushed (the cluster is thrown away); the server's
    // settings stay the defaults, fsync and synchronous_commit on.
    run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'kequn', '--no-sync']);
    run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-k ${dir} -h 127.0.0.1 -p ${port}`, 'start']);
    started = true;
    const version = bin.split('/').at(-2);
    return { url: `postgres://kequn@127.0.0.1:${port}/postgres`, origin: `throwaway PostgreSQL ${version} cluster`, stop };
  } catch (e) {
    stop();
    return { skipped: `could not start a PostgreSQL cluster: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** /usr/lib/postgresql/<newest version>/bin, if it has initdb. */
function newestPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
