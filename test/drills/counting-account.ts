import Database from 'better-sqlite3';
import type { ChatAdapter, OutgoingMessage } from '../../src/bot/events.js';

/**
 * The drills' WeChat account: it writes every delivery to its own SQLite file before returning,
 * so what the platform received survives a kill, like messages already on people's phones.
 */
export class CountingAccount implements ChatAdapter {
  readonly platform = 'wechat' as const;
  private readonly db: Database.Database;
  constructor(
    path: string,
    /** The kequn instance this account belongs to (the cluster drill), recorded on each delivery. */
    private readonly instance: string | null = null,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, chat_kind TEXT, chat_id TEXT, text TEXT, instance TEXT, pid INTEGER, at INTEGER)');
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  isReady(): boolean {
    return true;
  }
  async send(m: OutgoingMessage): Promise<void> {
    this.db.prepare('INSERT INTO deliveries (chat_kind, chat_id, text, instance, pid, at) VALUES (?, ?, ?, ?, ?, ?)').run(m.chat.kind, m.chat.id, m.text, this.instance, process.pid, Date.now());
  }
}
