/**
 * The kequn process the crash drill kills: the real app (engine, store file, outbox, scheduler,
 * orders with the sandbox provider) on a fast clock, with a fake WeChat that writes every
 * delivery to its own SQLite file before returning — what the platform received survives the
 * kill, like messages already on people's phones. Events come from the parent over IPC; each is
 * acknowledged once kequn has handled (committed) it, as a platform's delivery would be.
 *
 * env: DRILL_DATA (store), DRILL_DELIVERIES (fake platform's file), DRILL_CONFIG (config dir),
 * DRILL_T0 (virtual start), DRILL_REAL0 (real start, ms), DRILL_SPEED (virtual ms per real ms).
 */
import type { ChatEvent } from '../../src/bot/events.js';
import { CountingAccount } from './counting-account.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { createLogger, silentLogger } from '../../src/log.js';
import type { Clock } from '../../src/core/schedule/clock.js';
import { acquireStoreLock } from '../../src/store/backup.js';

export type DrillAction = { kind: 'event'; event: ChatEvent } | { kind: 'pay'; user: string } | { kind: 'drain' } | { kind: 'exit' };
export type DrillReply = { ready: true } | { ack: number; status: string };

/** Virtual time that runs `speed` times faster than real time, continuous across restarts. */
class FastClock implements Clock {
  constructor(
    private readonly t0: number,
    private readonly real0: number,
    private readonly speed: number,
  ) {}
  now(): number {
    return this.t0 + Math.floor((Date.now() - this.real0) * this.speed);
  }
}

const env = process.env;
const dbPath = env.DRILL_DATA!;
const config = loadConfig(env.DRILL_CONFIG!, { env: { KEQUN_DATA: dbPath } });
const clock = new FastClock(Number(env.DRILL_T0), Number(env.DRILL_REAL0), Number(env.DRILL_SPEED));
acquireStoreLock(dbPath);
// DRILL_LOG=warn shows kequn's warnings and errors on stderr (the parent prints them on failure).
const log = env.DRILL_LOG ? createLogger({ level: env.DRILL_LOG, destination: process.stderr }) : silentLogger;
// A fake account paying through the sandbox: what KEQUN_STAGING=1 is for (the sandbox is closed beside a real account otherwise).
const app = await createApp({ config, clock, log, live: true, dbPath, wechat: { kind: 'off' }, adapters: [new CountingAccount(env.DRILL_DELIVERIES!)], env: {}, staging: true });
await app.kernel.start();

const send = (r: DrillReply) => process.send!(r);
let seq = 0;

async function pay(user: string): Promise<string> {
  const order = app.db
    .prepare("SELECT o.token, o.state FROM orders o JOIN identities i ON i.member_id = o.member_id WHERE i.platform_id = ? ORDER BY (o.state = 'paid') DESC, o.created_at DESC LIMIT 1")
    .get(user) as { token: string; state: string } | undefined;
  if (!order) return 'no-order';
  if (order.state === 'paid') return 'already-paid';
  const { outTradeNo } = await app.orders.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
  const status = await app.orders.sandbox!.pay(outTradeNo);
  return `paid:${status}`;
}

/** Waits until no message is waiting to go out (or 10 s). */
async function drain(): Promise<string> {
  const until = Date.now() + 10_000;
  for (;;) {
    const n = (app.db.prepare("SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'sending')").get() as { n: number }).n;
    if (n === 0 || Date.now() > until) return `pending:${n}`;
    await new Promise((r) => setTimeout(r, 50));
  }
}

process.on('message', (a: DrillAction) => {
  const id = seq++;
  void (async () => {
    try {
      if (a.kind === 'event') send({ ack: id, status: (await app.kernel.handle(a.event)).status });
      else if (a.kind === 'pay') send({ ack: id, status: await pay(a.user) });
      else if (a.kind === 'drain') send({ ack: id, status: await drain() });
      else {
        await app.stop();
        process.exit(0);
      }
    } catch (e) {
      send({ ack: id, status: `error:${(e as Error).message}` });
    }
  })();
});
send({ ready: true });
