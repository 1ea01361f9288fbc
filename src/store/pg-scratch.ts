import { createHash } from 'node:crypto';
import { openStore } from './db.js';
import { migrations } from './migrations.js';
import { PostgresDb, PostgresError } from './postgres.js';

/**
 * Throwaway PostgreSQL databases for tests and `kequn test --store postgres://...`: each one is
 * a copy of a migrated template (made once per set of migrations, shared by every process), so a
 * fresh store costs one CREATE DATABASE instead of running every migration. Needs a role that
 * may create databases.
 */
export class ScratchDatabases {
  private admin: PostgresDb | undefined;
  private template: string | undefined;
  private readonly created: string[] = [];
  private counter = 0;

  /** `serverUrl`: any database on the server (e.g. .../postgres); `prefix` names the copies. */
  constructor(
    private readonly serverUrl: string,
    private readonly prefix = `kequn_t${process.pid}`,
  ) {}

  /** The URL of database `name` on the same server. */
  urlOf(name: string): string {
    const u = new URL(this.serverUrl);
    u.pathname = `/${name}`;
    return u.toString();
  }

  /** A fresh, migrated, empty database; its URL. */
  create(): string {
    const template = this.templateName();
    const a = this.conn();
    for (;;) {
      const name = `${this.prefix}_${++this.counter}`;
      // A copy needs the template to have no sessions: ours that made it may still be closing
      // (PostgresDb.close() finishes on the next turn). CREATE DATABASE waits for them to end.
      a.prepare('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()').all(template);
      try {
        a.exec(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`);
      } catch (e) {
        // The name is taken: left by an earlier process with this pid (a test worker killed
        // before its exit handler dropped its copies; pids come round again in a long run).
        // Not this one's (its counter never repeats): the next name.
        if (e instanceof PostgresError && e.code === '42P04' && this.counter < 1000) continue;
        throw e;
      }
      this.created.push(name);
      return this.urlOf(name);
    }
  }

  /** Drops every database this made (connections still open to them are ended). */
  dropAll(): void {
    for (const name of this.created.splice(0)) {
      try {
        this.admin?.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        // the server may be gone already (CI stops it after the run)
      }
    }
    this.admin?.close();
    this.admin = undefined;
  }

  /**
   * Drops the scratch copies left by processes that are gone (a test worker killed before its
   * exit handler ran). Copies of live processes (another test run on the same server) stay.
   * `onlyPids`: consider only the copies of these processes.
   */
  static dropOrphans(serverUrl: string, onlyPids?: readonly number[]): number {
    const admin = new PostgresDb(serverUrl);
    let dropped = 0;
    try {
      const names = (admin.prepare("SELECT datname FROM pg_database WHERE datname LIKE 'kequn\\_t%\\_%'").all() as { datname: string }[]).map((r) => r.datname);
      for (const name of names) {
        const pid = Number(/^kequn_t(\d+)_\d+$/.exec(name)?.[1]);
        if (!Number.isInteger(pid) || (onlyPids && !onlyPids.includes(pid)) || isAlive(pid)) continue;
        admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        dropped++;
      }
    } finally {
      admin.close();
    }
    return dropped;
  }

  private conn(): PostgresDb {
    this.admin ??= new PostgresDb(this.serverUrl);
    return this.admin;
  }

  private templateName(): string {
    if (this.template) return this.template;
    const a = this.conn();
    const hash = createHash('sha1').update(JSON.stringify(migrations)).digest('hex').slice(0, 10);
    const name = `kequn_template_${hash}`;
    a.prepare('SELECT pg_advisory_lock(?)').get(TEMPLATE_LOCK);
    try {
      if (!a.prepare('SELECT 1 FROM pg_database WHERE datname = ?').get(name)) {
        a.exec(`CREATE DATABASE ${name}`);
        openStore(this.urlOf(name)).close();
      }
    } finally {
      a.prepare('SELECT pg_advisory_unlock(?)').get(TEMPLATE_LOCK);
    }
    this.template = name;
    return name;
  }
}

/** Advisory-lock key for making the template ("ktp"). */
const TEMPLATE_LOCK = 0x6b7470;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: alive but someone else's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
