import { seededRandom } from '../../src/util/random.js';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, insertAttempt, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { count, T0 } from '../helpers/fixtures.js';
import { buy, notification, payHarness, testKeys, transaction, wechatPayProvider } from '../helpers/payments.js';
import { testBackend } from '../helpers/store.js';

// Property test: random sequences of genuine, duplicated, reordered, forged, tampered and
// mismatched notifications over many orders. Whatever the order of arrival, each order with a
// genuine payment ends paid exactly once (one transition, one hook call = one reward, one receipt
// and one invite), and every other order is untouched.

// On PostgreSQL every statement is a round trip: fewer sequences keep the test inside its timeout.
const SEQUENCES = testBackend === 'postgres' ? 8 : 25;
const EVENTS = 400;
const ORDERS = 20;

const keys = testKeys();
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
type N = { headers: Record<string, string>; rawBody: string };


// Signed once, replayed across sequences: order i has attempts FZ-i-0 and FZ-i-1 (a payer who
// pressed pay twice), each notified under two ids (WeChat Pay may resend under a new id).
const outTradeNo = (i: number, j: number) => `FZ-${i}-${j}`;
const genuine: { order: number; n: N }[] = [];
const mismatched: N[] = [];
const forged: N[] = [];
const stale: N[] = [];
for (let i = 0; i < ORDERS; i++) {
  for (let j = 0; j < 2; j++) {
    const t = transaction(outTradeNo(i, j), 19900, { transaction_id: `4200-${i}-${j}` });
    for (let k = 0; k < 2; k++) genuine.push({ order: i, n: notification(keys, t, { now: T0, id: `EV-${i}-${j}-${k}` }) });
    if (j === 0) {
      mismatched.push(notification(keys, transaction(outTradeNo(i, j), 1), { now: T0, id: `MM-${i}` }));
      forged.push(notification(keys, t, { now: T0, id: `FG-${i}`, signWith: forger }));
      // Genuine, but captured 10 minutes earlier and replayed now.
      stale.push(notification(keys, t, { now: T0 - 10 * 60_000, id: `ST-${i}` }));
    }
  }
}
function tamper(n: N, r: () => number): N {
  const body = JSON.parse(n.rawBody);
  const ct = Buffer.from(body.resource.ciphertext, 'base64');
  const at = Math.floor(r() * ct.length);
  ct[at] = ct[at]! ^ (1 + Math.floor(r() * 255));
  body.resource.ciphertext = ct.toString('base64');
  return { headers: n.headers, rawBody: JSON.stringify(body) };
}

describe('payment notifications under random sequences', () => {
  it(`${SEQUENCES} sequences × ${EVENTS} notifications over ${ORDERS} orders: paid exactly once, nothing else changed`, async () => {
    let delivered = 0;
    let paidTotal = 0;
    let unpaidTotal = 0;
    for (let s = 0; s < SEQUENCES; s++) {
      const r = seededRandom(1000 + s);
      const h = payHarness(() => wechatPayProvider(keys));
      const orders: OrderRow[] = [];
      for (let i = 0; i < ORDERS; i++) {
        const o = buy(h, `u${i}`);
        orders.push(o);
        for (let j = 0; j < 2; j++) insertAttempt(h.db, { out_trade_no: outTradeNo(i, j), order_id: o.id, provider: 'wechatpay', method: 'native', created_at: T0, next_check_at: T0 + 60_000 });
      }
      const paidGenuinely = new Set<number>();
      // Each sequence has its own share of genuine notifications, so some end with orders unpaid.
      const g = 0.01 + 0.3 * r();
      for (let e = 0; e < EVENTS; e++) {
        // Map x so that [0, g) is genuine and the rest splits as forged/tampered/mismatched/stale.
        const u = r();
        const x = u < g ? 0 : 0.45 + ((u - g) / (1 - g)) * 0.55;
        let n: N;
        let expected: number;
        if (x < 0.45) {
          const g = genuine[Math.floor(r() * genuine.length)]!;
          n = g.n;
          expected = 204;
          paidGenuinely.add(g.order);
        } else if (x < 0.6) {
          n = forged[Math.floor(r() * forged.length)]!;
          expected = 401;
        } else if (x < 0.8) {
          n = tamper(genuine[Math.floor(r() * genuine.length)]!.n, r);
          expected = 401;
        } else if (x < 0.9) {
          n = mismatched[Math.floor(r() * mismatched.length)]!;
          expected = 400;
        } else {
          n = stale[Math.floor(r() * stale.length)]!;
          expected = 401;
        }
        const answer = await h.service.handleNotification('wechatpay', n);
        expect(answer.status, `sequence ${s} event ${e}`).toBe(expected);
        delivered++;
      }
      for (let i = 0; i < ORDERS; i++) {
        const o = getOrder(h.db, orders[i]!.id)!;
        const member = findMemberByIdentity(h.db, 'wechat', `u${i}`)!;
        const transitions = count(h.db, 'stage_transitions', `member_id = '${member.id}' AND to_stage = 'paid'`);
        const hooks = h.hookCalls.filter((c) => c.orderId === o.id).length;
        const receipts = count(h.db, 'outbox', `member_id = '${member.id}' AND rule_id = 'order.paid'`);
        if (paidGenuinely.has(i)) {
          expect({ state: o.state, transitions, hooks, receipts, stage: member.stage }).toEqual({ state: 'paid', transitions: 1, hooks: 1, receipts: 2, stage: 'paid' });
        } else {
          expect({ state: o.state, transitions, hooks, receipts, stage: member.stage }).toEqual({ state: 'created', transitions: 0, hooks: 0, receipts: 0, stage: 'prospect' });
        }
      }
      expect(count(h.db, 'events', "type = 'order.paid'")).toBe(paidGenuinely.size);
      paidTotal += paidGenuinely.size;
      unpaidTotal += ORDERS - paidGenuinely.size;
    }
    // Both outcomes were exercised.
    expect(paidTotal).toBeGreaterThan(2 * SEQUENCES);
    expect(unpaidTotal).toBeGreaterThan(2 * SEQUENCES);
    expect(delivered).toBe(SEQUENCES * EVENTS);
  });
});
