import type { Logger } from 'pino';
import type { Kernel } from '../../core/kernel.js';
import type { Clock } from '../../core/schedule/clock.js';
import type { Db } from '../../store/db.js';
import { claimInvoice, failInvoice, ordersAwaitingInvoice } from './store/orders.js';
import type { PaymentProvider } from './provider.js';
import { SandboxProvider } from './sandbox.js';
import { OrderService } from './service.js';
import { type StarsInvoice, type StarsRefunder } from '../../bot/payments.js';

export interface Orders {
  service: OrderService;
  /** The embedded fake WeChat Pay, when it is the provider. */
  sandbox: SandboxProvider | undefined;
  /** One reconciliation pass plus pending refunds (also what the live timer runs). */
  tick(): Promise<void>;
  /** Sends the Stars invoices of new Telegram orders (after the event that opened them commits). */
  sendInvoices(): Promise<number>;
  stop(): void;
}

/** The notification URL the provider calls: `<public_url>/webhooks/<provider>`. */
export function notifyUrl(publicUrl: string, provider: string): string {
  return `${publicUrl}/webhooks/${provider}`;
}

/**
 * Builds the order service with the provider catalog.yaml names (sandbox by default; wechatpay
 * with secrets from the environment) and, in live mode, its reconciliation timer. Changing the
 * provider takes a restart; prices, coupons and templates follow config reloads.
 */
export async function createOrders(opts: {
  kernel: Kernel;
  db: Db;
  clock: Clock;
  log: Logger;
  live: boolean;
  env: NodeJS.ProcessEnv;
  /** The Telegram adapter, when Telegram is on: Stars invoices go out through it. */
  telegram?: { sendInvoice?(invoice: StarsInvoice): Promise<void> } & Partial<StarsRefunder>;
  /** The sandbox takes new payments (default true; kequn closes it beside a real account unless staging). */
  sandboxOpen?: boolean;
}): Promise<Orders> {
  const { kernel } = opts;
  const config = () => kernel.currentConfig;
  const pay = config().catalog.payments;
  let sandbox: SandboxProvider | undefined;
  // eslint-disable-next-line prefer-const -- assigned after the sandbox, whose deliver calls it
  let service!: OrderService;
  let provider: PaymentProvider;
  if (pay.provider === 'wechatpay') {
    // Loaded only for real WeChat Pay: its axios client is ~20 MB that the sandbox does not need.
    const { WechatPayProvider, wechatPaySecretsFromEnv } = await import('./wechatpay.js');
    provider = new WechatPayProvider(pay.wechatpay!, wechatPaySecretsFromEnv(opts.env), { notifyUrl: notifyUrl(pay.publicUrl, 'wechatpay') });
  } else {
    sandbox = new SandboxProvider({
      publicUrl: () => config().catalog.payments.publicUrl,
      now: () => opts.clock.now(),
      deliver: async (req) => (await service.handleNotification('sandbox', req)).status,
      open: opts.sandboxOpen,
    });
    provider = sandbox;
  }
  service = new OrderService({ db: opts.db, config, clock: opts.clock, engine: kernel.engine, log: opts.log, provider, wake: () => kernel.wake(), starsRefunder: starsRefunderOf(opts.telegram), instance: kernel.cluster.instance, services: () => kernel.currentServices });

  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await service.processRefunds();
      const r = await service.reconcile();
      if (r.paid + r.closed + r.expired > 0) opts.log.info(r, 'payments reconciled');
    } catch (e) {
      opts.log.error({ err: (e as Error).message }, 'payments: reconciliation failed');
    } finally {
      running = false;
    }
  };
  // Claimed before the send: an invoice goes out at most once by itself (a failing platform is
  // not called in a loop). A failed send keeps its reason on the order, and the member's next /buy
  // sends a fresh invoice (src/flows/orders/index.ts); the checkout link went out as text anyway.
  const sendInvoices = async () => {
    if (!opts.telegram?.sendInvoice) return 0;
    let n = 0;
    for (const order of ordersAwaitingInvoice(opts.db, opts.clock.now(), 20)) {
      const invoice = service.starsInvoice(order.id);
      if (!invoice || !claimInvoice(opts.db, order.id, opts.clock.now())) continue;
      try {
        await opts.telegram.sendInvoice(invoice);
        n++;
      } catch (e) {
        const reason = (e as Error).message || String(e);
        failInvoice(opts.db, order.id, reason);
        opts.log.warn({ order: order.id, err: reason }, 'stars: invoice not sent (the next /buy sends a fresh one)');
      }
    }
    return n;
  };
  const onInvoiceEvent = (e: { platform: string }, r: { status: string }) => {
    if (e.platform === 'telegram' && r.status === 'handled') void sendInvoices();
  };
  kernel.on('handled', onInvoiceEvent);
  // A staff /refund is sent to the provider right after its event commits, not at the next tick.
  const onHandled = (_e: unknown, r: { fired: string[] }) => {
    if (r.fired.includes('command:/refund')) void tick();
  };
  let timer: NodeJS.Timeout | undefined;
  if (opts.live) {
    kernel.on('handled', onHandled);
    timer = setInterval(() => void tick(), Math.max(pay.reconcile_every, 1000));
    timer.unref();
  }
  return {
    service,
    sandbox,
    tick,
    sendInvoices,
    stop() {
      clearInterval(timer);
      kernel.off('handled', onHandled);
      kernel.off('handled', onInvoiceEvent);
    },
  };
}

/** The Telegram adapter as the order service's Stars refunder, when Telegram is on. */
function starsRefunderOf(telegram: Partial<StarsRefunder> | undefined): StarsRefunder | undefined {
  const refund = telegram?.refundStarPayment?.bind(telegram);
  return refund ? { refundStarPayment: refund } : undefined;
}
