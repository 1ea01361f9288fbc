/**
 * The external shop's callback (docs/loyalty.md, issue 19): an outsider who knows the route and
 * the body format but not the shared secret, and a member who tries staff's `/paid`. Against a
 * real kequn (createApp + the web server on 127.0.0.1, a store file) on the loyalty course, with
 * KEQUN_SHOP_SECRET_XIAOE set. Every refused input must leave orders, shop payments, events and
 * the outbox exactly as they were; only the one honest, signed callback marks the order paid,
 * once.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, loadConfig } from '../../../src/app.js';
import { silentLogger } from '../../../src/log.js';
import { VirtualClock } from '../../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../../src/store/members.js';
import { getOrder, latestOrderOf } from '../../../src/flows/orders/store/orders.js';
import { signShopCallback } from '../../../src/flows/orders/shop.js';
import { createWebApp, startWebServer } from '../../../src/web/server.js';
import { count } from '../../helpers/fixtures.js';
import { dm } from '../../helpers/payments.js';
import type { AttackReport, AttackSuite } from './suite.js';

const COURSE = fileURLToPath(new URL('../../fixtures/loyalty-course', import.meta.url));
const SECRET = 'drill-shop-secret-0123456789abcdef';
const T0 = Date.parse('2026-03-02T10:00:00+08:00');

function post(base: string, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const shopCallbackSuite: AttackSuite = {
  name: 'shop-callback',
  title: 'the external shop callback (HMAC, timestamp window, replays, body tricks) and staff /paid by non-staff',
  async run() {
    const report: AttackReport = { tried: 0, lines: [], problems: [] };
    const dir = mkdtempSync(join(tmpdir(), 'kequn-drill-shop-'));
    const clock = new VirtualClock(T0);
    const app = await createApp({ config: loadConfig(COURSE, { env: {} }), clock, log: silentLogger, live: false, dbPath: join(dir, 'shop.db'), env: {} });
    await app.kernel.start();
    const server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: 'drill-admin-token-0123456789abcdef', KEQUN_SHOP_SECRET_XIAOE: SECRET } }), { host: '127.0.0.1', port: 0 });
    const state = () =>
      JSON.stringify({
        orders: app.db.prepare('SELECT id, state, provider, paid_amount FROM orders ORDER BY id').all(),
        shop: count(app.db, 'shop_payments'),
        events: count(app.db, 'events'),
        outbox: count(app.db, 'outbox'),
        stages: app.db.prepare('SELECT id, stage FROM members ORDER BY id').all(),
      });
    try {
      await app.kernel.handle(dm('rita', '/buy interview-camp', clock.now()));
      const rita = findMemberByIdentity(app.db, 'wechat', 'rita')!.id;
      const order = latestOrderOf(app.db, rita, ['created'])!;
      await app.kernel.handle(dm('sam', '/buy python-vip', clock.now()));
      const other = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', 'sam')!.id, ['created'])!;
      const good = { ref: order.id, shop_order_id: 'XE-DRILL-1', product: 'interview-camp', amount_fen: 29900 };
      const ts = (at = clock.now()) => String(Math.floor(at / 1000));
      const signed = (body: string, t = ts(), secret = SECRET) => ({ 'x-kequn-timestamp': t, 'x-kequn-signature': signShopCallback(secret, t, body) });

      // Each attack: [what, shop, raw body, headers, statuses that mean refused].
      const raw = JSON.stringify(good);
      const t = ts();
      const sig = signShopCallback(SECRET, t, raw);
      const attacks: [string, string, string, Record<string, string>, number[]][] = [
        ['no signature or timestamp', 'xiaoe', raw, {}, [401]],
        ['a timestamp but no signature', 'xiaoe', raw, { 'x-kequn-timestamp': t }, [401]],
        ['signed with a wrong secret', 'xiaoe', raw, signed(raw, t, 'wrong-secret-wrong-secret-wrong-00'), [401]],
        ['signed with an empty secret', 'xiaoe', raw, signed(raw, t, ''), [401]],
        ['the signature of another body', 'xiaoe', raw, { 'x-kequn-timestamp': t, 'x-kequn-signature': signShopCallback(SECRET, t, JSON.stringify({ ...good, amount_fen: 1 })) }, [401]],
        ['a valid signature with the timestamp moved', 'xiaoe', raw, { 'x-kequn-timestamp': String(Number(t) + 1), 'x-kequn-signature': sig }, [401]],
        ['a body changed under a valid signature (amount)', 'xiaoe', JSON.stringify({ ...good, amount_fen: 1 }), { 'x-kequn-timestamp': t, 'x-kequn-signature': sig }, [401]],
        ['a body with a trailing space under a valid signature', 'xiaoe', raw + ' ', { 'x-kequn-timestamp': t, 'x-kequn-signature': sig }, [401]],
        ['the signature in upper case', 'xiaoe', raw, { 'x-kequn-timestamp': t, 'x-kequn-signature': sig.toUpperCase() }, [401]],
        ['the signature without its sha256= prefix', 'xiaoe', raw, { 'x-kequn-timestamp': t, 'x-kequn-signature': sig.slice(7) }, [401]],
        ['a truncated signature', 'xiaoe', raw, { 'x-kequn-timestamp': t, 'x-kequn-signature': sig.slice(0, -2) }, [401]],
        ['a signature of zeros', 'xiaoe', raw, { 'x-kequn-timestamp': t, 'x-kequn-signature': 'sha256=' + '0'.repeat(64) }, [401]],
        ['a stale timestamp (6 min old), signed', 'xiaoe', raw, signed(raw, ts(clock.now() - 6 * 60_000)), [401]],
        ['a timestamp 6 min ahead, signed', 'xiaoe', raw, signed(raw, ts(clock.now() + 6 * 60_000)), [401]],
        ['a timestamp in milliseconds, signed', 'xiaoe', raw, signed(raw, String(clock.now())), [401]],
        ['a negative timestamp, signed', 'xiaoe', raw, signed(raw, '-1'), [401]],
        ['a timestamp of 1e9, signed', 'xiaoe', raw, signed(raw, '1e9'), [401]],
        ['an unknown order, signed', 'xiaoe', JSON.stringify({ ...good, ref: 'o_AAAAAAAAAAAA' }), signed(JSON.stringify({ ...good, ref: 'o_AAAAAAAAAAAA' })), [404]],
        ['another product’s order (sold here, not in the shop), signed', 'xiaoe', JSON.stringify({ ...good, ref: other.id, product: 'python-vip' }), signed(JSON.stringify({ ...good, ref: other.id, product: 'python-vip' })), [400]],
        ['the product of the body not the order’s, signed', 'xiaoe', JSON.stringify({ ...good, product: 'python-vip' }), signed(JSON.stringify({ ...good, product: 'python-vip' })), [400]],
        ['an amount of 0, signed', 'xiaoe', JSON.stringify({ ...good, amount_fen: 0 }), signed(JSON.stringify({ ...good, amount_fen: 0 })), [400]],
        ['an amount in yuan with decimals, signed', 'xiaoe', JSON.stringify({ ...good, amount_fen: 299.5 }), signed(JSON.stringify({ ...good, amount_fen: 299.5 })), [400]],
        ['an amount as a string, signed', 'xiaoe', JSON.stringify({ ...good, amount_fen: '29900' }), signed(JSON.stringify({ ...good, amount_fen: '29900' })), [400]],
        ['a shop order id with SQL, signed', 'xiaoe', JSON.stringify({ ...good, shop_order_id: "1' OR '1'='1" }), signed(JSON.stringify({ ...good, shop_order_id: "1' OR '1'='1" })), [400]],
        ['__proto__ in the body, signed', 'xiaoe', '{"__proto__":{"ref":"x"},"ref":"o_AAAAAAAAAAAA"}', signed('{"__proto__":{"ref":"x"},"ref":"o_AAAAAAAAAAAA"}'), [400]],
        ['not JSON, signed', 'xiaoe', 'ref=o_x&amount_fen=1', signed('ref=o_x&amount_fen=1'), [400]],
        ['an empty body, signed', 'xiaoe', '', signed(''), [400]],
        ['a 100 KB body', 'xiaoe', JSON.stringify({ ...good, pad: 'x'.repeat(100_000) }), signed(JSON.stringify({ ...good, pad: 'x'.repeat(100_000) })), [413]],
        ['a shop with no secret set (youzan)', 'youzan', raw, signed(raw), [404]],
        ['an unknown shop', 'taobao', raw, signed(raw), [404]],
        ['the shop id in upper case', 'XIAOE', raw, signed(raw), [404]],
        ['toString as the shop', 'toString', raw, signed(raw), [404]],
        ['__proto__ as the shop', '__proto__', raw, signed(raw), [404]],
        ['constructor as the shop', 'constructor', raw, signed(raw), [404]],
      ];
      const before = state();
      for (const [what, shop, body, headers, refused] of attacks) {
        report.tried++;
        const r = await post(server.url, `/shop/callback/${encodeURIComponent(shop)}`, body, headers);
        if (!refused.includes(r.status)) report.problems.push(`${what}: answered ${r.status} (${r.text.slice(0, 80)}), expected ${refused.join('/')}`);
        if (state() !== before) {
          report.problems.push(`${what}: the store changed`);
          break;
        }
      }
      if (getOrder(app.db, order.id)!.state !== 'created') report.problems.push('the order was marked paid by a refused callback');
      report.lines.push(`${attacks.length} forged, stale, malformed or misdirected callbacks: all refused, nothing changed`);

      // The honest callback, then replays of it (as sent, and re-signed with a fresh timestamp).
      report.tried++;
      const ok = await post(server.url, '/shop/callback/xiaoe', raw, signed(raw));
      if (ok.status !== 200 || getOrder(app.db, order.id)!.state !== 'paid') report.problems.push(`the signed callback did not mark the order paid (${ok.status} ${ok.text.slice(0, 80)})`);
      const paid = state();
      for (const [what, headers] of [
        ['the same delivery again', { 'x-kequn-timestamp': t, 'x-kequn-signature': sig }],
        ['the same shop order re-signed 4 minutes later', signed(raw, ts(clock.now() + 4 * 60_000))],
      ] as const) {
        report.tried++;
        const r = await post(server.url, '/shop/callback/xiaoe', raw, headers);
        if (r.status !== 409) report.problems.push(`${what}: answered ${r.status}, expected 409`);
        if (state() !== paid) report.problems.push(`${what}: the store changed`);
      }
      const events = app.db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'order.paid'").get() as { n: number };
      if (events.n !== 1) report.problems.push(`${events.n} order.paid events, expected 1`);
      report.lines.push('the signed callback marked the order paid once; replays answered 409 and changed nothing');

      // Staff /paid from people who are not owner or instructor (by platform id, not by name).
      await app.kernel.handle(dm('sam', '/buy interview-camp', clock.now()));
      const samOrder = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', 'sam')!.id, ['created'])!;
      const beforePaid = JSON.stringify(app.db.prepare('SELECT id, state FROM orders ORDER BY id').all()) + count(app.db, 'shop_payments');
      for (const [who, name] of [
        ['sam', 'sam'],
        ['assistant-li', '助教小李'],
        ['fake-teacher', '王老师'],
      ] as const) {
        report.tried++;
        await app.kernel.handle({ ...dm(who, '/paid sam interview-camp', clock.now()), user: { id: who, name } });
      }
      if (JSON.stringify(app.db.prepare('SELECT id, state FROM orders ORDER BY id').all()) + count(app.db, 'shop_payments') !== beforePaid || getOrder(app.db, samOrder.id)!.state !== 'created') {
        report.problems.push('/paid from a member, an assistant or a name-spoofer recorded a payment');
      }
      report.lines.push('/paid from a member, an assistant and someone named 王老师: refused, nothing recorded');

      // The personal link: guessed tokens lead nowhere.
      for (const token of ['AAAAAAAAAAAAAAAAAAAAAAAA', order.id, '..%2F..%2Fadmin', `${order.token}x`]) {
        report.tried++;
        const r = await new Promise<number>((resolve, reject) => httpRequest(`${server.url}/go/${token}`, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject).end());
        if (r !== 404) report.problems.push(`/go/${token} answered ${r}, expected 404`);
      }
      report.lines.push('guessed /go/ tokens: 404');
    } finally {
      await server.close();
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    return report;
  },
};
