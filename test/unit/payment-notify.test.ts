import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { rsaSign, verifyNotification } from '../../src/flows/orders/wechatpay-v3.js';
import { findMemberByIdentity, stageHistory } from '../../src/store/members.js';
import { getOrder, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { count, outboxRows } from '../helpers/fixtures.js';
import { attempt, buy, notification, payHarness, snapshot, testKeys, transaction, wechatPayProvider, type PayHarness } from '../helpers/payments.js';

// WeChat Pay v3 notifications through the order service's one verification path, with real RSA
// keys made here: what is genuine is applied once; what is forged, replayed, tampered or does not
// match the order is refused and changes nothing.

const keys = testKeys();
const tmp = mkdtempSync(join(tmpdir(), 'kequn-cert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A platform *certificate* (certificate mode), self-signed with openssl, with its own serial. */
function platformCertificate(): { serial: string; pem: string; privateKey: string } {
  const key = join(tmp, 'key.pem');
  const cert = join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=Tenpay.com Root CA'], { stdio: 'ignore' });
  return { serial: '5157F09EFDC096DE15EBE81A47057A72', pem: readFileSync(cert, 'utf8'), privateKey: readFileSync(key, 'utf8') };
}
const cert = platformCertificate();

let h: PayHarness;
let order: OrderRow;
let no: string;

beforeEach(() => {
  h = payHarness(() => wechatPayProvider(keys, { extraPlatformKeys: [{ serial: cert.serial, pem: cert.pem }] }));
  order = buy(h, 'alice');
  no = attempt(h, order);
});

async function deliver(n: { headers: Record<string, string>; rawBody: string }) {
  return h.service.handleNotification('wechatpay', n);
}

describe('a genuine notification', () => {
  it('marks the order paid once: stage, receipt, invite, hook, order.paid rules, 204', async () => {
    const before = findMemberByIdentity(h.db, 'wechat', 'alice')!;
    expect(before.stage).toBe('prospect');
    const r = await deliver(notification(keys, transaction(no, order.amount), { now: h.clock.now() }));
    expect(r.status).toBe(204);
    const paid = getOrder(h.db, order.id)!;
    expect(paid).toMatchObject({ state: 'paid', paid_amount: 19900, provider: 'wechatpay', out_trade_no: no, stage_before: 'prospect' });
    const m = findMemberByIdentity(h.db, 'wechat', 'alice')!;
    expect(m.stage).toBe('paid');
    const moves = stageHistory(h.db, m.id).filter((t) => t.to_stage === 'paid');
    expect(moves).toHaveLength(1);
    expect(moves[0]).toMatchObject({ rule_id: 'order.paid', from_stage: 'prospect' });
    expect(moves[0]!.event_id).not.toBeNull();
    const texts = outboxRows(h.db).map((o) => o.text);
    expect(texts.some((t) => t.includes('支付成功') && t.includes('¥199.00') && t.includes(order.id))).toBe(true);
    expect(texts.some((t) => t.includes('Python 数据分析正式班'))).toBe(true);
    expect(h.hookCalls).toEqual([{ kind: 'paid', orderId: order.id, amount: 19900 }]);
    // The demo's `on: order.paid` rule ran in the same transaction.
    expect(count(h.db, 'member_tags', "tag = 'vip'")).toBe(1);
  });

  it('is accepted from a platform certificate (certificate mode) as well as the platform public key', async () => {
    const r = await deliver(notification(keys, transaction(no, order.amount), { now: h.clock.now(), serial: cert.serial, signWith: cert.privateKey as never }));
    expect(r.status).toBe(204);
    expect(getOrder(h.db, order.id)!.state).toBe('paid');
  });

  it('is processed once when delivered again (same id, or a new id for the same payment): 204, nothing changes', async () => {
    const n = notification(keys, transaction(no, order.amount, { transaction_id: '4200000000001' }), { now: h.clock.now() });
    expect((await deliver(n)).status).toBe(204);
    const after = snapshot(h.db);
    expect((await deliver(n)).status).toBe(204);
    expect((await deliver(notification(keys, transaction(no, order.amount, { transaction_id: '4200000000001' }), { now: h.clock.now() }))).status).toBe(204);
    const s = snapshot(h.db);
    expect({ ...s, notifications: 0 }).toEqual({ ...after, notifications: 0 });
    expect(h.hookCalls).toHaveLength(1);
  });
});

describe('refused, with no state change', () => {
  const cases: [string, () => { headers: Record<string, string>; rawBody: string }, number, string?][] = [
    ['a forged signature (another key)', () => notification(keys, transaction(no, order.amount), { now: h.clock.now(), signWith: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }), 401, 'bad signature'],
    ['an unknown serial', () => notification(keys, transaction(no, order.amount), { now: h.clock.now(), serial: 'PUB_KEY_ID_NOT_OURS' }), 401, 'unknown platform key serial'],
    ['a replayed (6 minutes old) timestamp', () => notification(keys, transaction(no, order.amount), { now: h.clock.now() - 6 * 60_000 }), 401, 'timestamp'],
    ['a timestamp from the future', () => notification(keys, transaction(no, order.amount), { now: h.clock.now() + 6 * 60_000 }), 401, 'timestamp'],
    [
      "WeChat's signature probe",
      () => {
        const n = notification(keys, transaction(no, order.amount), { now: h.clock.now() });
        return { ...n, headers: { ...n.headers, 'wechatpay-signature': 'WECHATPAY/SIGNTEST/' + n.headers['wechatpay-signature'] } };
      },
      401,
      'bad signature',
    ],
    [
      'a body changed after signing',
      () => {
        const n = notification(keys, transaction(no, order.amount), { now: h.clock.now() });
        return { ...n, rawBody: n.rawBody.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS" ') };
      },
      401,
      'bad signature',
    ],
    [
      'tampered ciphertext, re-signed (signature good, GCM tag fails)',
      () => {
        const n = notification(keys, transaction(no, order.amount), { now: h.clock.now() });
        const body = JSON.parse(n.rawBody);
        const ct = Buffer.from(body.resource.ciphertext, 'base64');
        ct[5] = ct[5]! ^ 0x01;
        body.resource.ciphertext = ct.toString('base64');
        return resign(JSON.stringify(body), n.headers);
      },
      401,
      'does not decrypt',
    ],
    ['a resource encrypted with another API v3 key', () => notification(keys, transaction(no, order.amount), { now: h.clock.now(), apiV3Key: 'b'.repeat(32) }), 401, 'does not decrypt'],
    ['an amount that is not the order amount', () => notification(keys, transaction(no, 1), { now: h.clock.now() }), 400],
    ['another currency', () => notification(keys, transaction(no, order.amount, { amount: { total: order.amount, currency: 'USD' } }), { now: h.clock.now() }), 400],
    ['another merchant', () => notification(keys, transaction(no, order.amount, { mchid: '1999999999' }), { now: h.clock.now() }), 400],
    ['another appid', () => notification(keys, transaction(no, order.amount, { appid: 'wx0000000000000000' }), { now: h.clock.now() }), 400],
    ['an unknown out_trade_no', () => notification(keys, transaction('NOT-OURS-123', order.amount), { now: h.clock.now() }), 400],
    ['a trade_state other than SUCCESS', () => notification(keys, transaction(no, order.amount, { trade_state: 'NOTPAY' }), { now: h.clock.now() }), 400],
    ['missing headers', () => ({ headers: { 'content-type': 'application/json' }, rawBody: '{}' }), 401, 'missing'],
  ];
  for (const [name, make, status, reason] of cases) {
    it(name, async () => {
      const n = make();
      // The refusal is for the reason named (not by accident of another check).
      const v = verifyNotification({ ...n, now: h.clock.now() }, h.service.provider.notificationKeys());
      if (reason) expect(v.ok ? 'verified' : v.reason).toContain(reason);
      else expect(v.ok).toBe(true);
      const before = snapshot(h.db);
      const r = await deliver(n);
      expect(r.status).toBe(status);
      expect(snapshot(h.db)).toEqual(before);
      expect(getOrder(h.db, order.id)!.state).toBe('created');
      expect(h.hookCalls).toEqual([]);
    });
  }

  it('rolls everything back when a hook fails inside the paid transaction (500: WeChat Pay retries)', async () => {
    const failing = payHarness(() => wechatPayProvider(keys), {
      features: [{ name: 'failing', on: { 'order.paid': () => { throw new Error('referral store down'); } } }],
    });
    const o = buy(failing, 'bob');
    const n2 = attempt(failing, o);
    const before = snapshot(failing.db);
    const r = await failing.service.handleNotification('wechatpay', notification(keys, transaction(n2, o.amount), { now: failing.clock.now() }));
    expect(r.status).toBe(500);
    expect(snapshot(failing.db)).toEqual(before);
  });
});

function resign(rawBody: string, headers: Record<string, string>): { headers: Record<string, string>; rawBody: string } {
  const sig = rsaSign(`${headers['wechatpay-timestamp']}\n${headers['wechatpay-nonce']}\n${rawBody}\n`, keys.platform.privateKey);
  return { rawBody, headers: { ...headers, 'wechatpay-signature': sig } };
}

describe('merchant secrets come only from the environment', () => {
  it('reads PEM and API v3 key from variables or files, and names the variable (never the value) when wrong', async () => {
    const { wechatPaySecretsFromEnv } = await import('../../src/flows/orders/wechatpay.js');
    const { writeFileSync } = await import('node:fs');
    const pemText = keys.merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const file = join(tmp, 'apiclient_key.pem');
    writeFileSync(file, pemText);
    const ok = wechatPaySecretsFromEnv({ WECHATPAY_PRIVATE_KEY_FILE: file, WECHATPAY_APIV3_KEY: keys.apiV3Key });
    expect(ok.apiV3Key.toString()).toBe(keys.apiV3Key);
    expect(() => wechatPaySecretsFromEnv({ WECHATPAY_APIV3_KEY: keys.apiV3Key })).toThrow('WeChat Pay needs WECHATPAY_PRIVATE_KEY or WECHATPAY_PRIVATE_KEY_FILE in the environment');
    const secretish = 'not-a-key-but-a-secret-value';
    let message = '';
    try {
      wechatPaySecretsFromEnv({ WECHATPAY_PRIVATE_KEY: secretish, WECHATPAY_APIV3_KEY: keys.apiV3Key });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('WECHATPAY_PRIVATE_KEY is not a PEM private key');
    expect(message).not.toContain(secretish);
    expect(() => wechatPaySecretsFromEnv({ WECHATPAY_PRIVATE_KEY: pemText, WECHATPAY_APIV3_KEY: 'short' })).toThrow('WECHATPAY_APIV3_KEY must be the 32-character API v3 key');
  });
});
