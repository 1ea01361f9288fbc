/**
 * Referral throughput: drawing codes (CSPRNG, rejection sampling), issuing them through the store
 * (unique key, collisions redrawn), and a paid-order hook booking rewards and tier bonuses.
 */
import { loadConfig, registry } from '../src/app.js';
import { ensureCode, generateCode } from '../src/flows/referral/code.js';
import { attribute } from '../src/flows/referral/attribution.js';
import { referralRewards } from '../src/flows/referral/rewards.js';
import { buildServices } from '../src/core/registry.js';
import { openStore } from '../src/store/db.js';
import type { BenchResult } from './report.js';

export function benchReferral(): BenchResult[] {
  const n = 100_000;
  let t = performance.now();
  for (let i = 0; i < n; i++) generateCode(6);
  const genMs = performance.now() - t;

  const db = openStore(':memory:');
  const insert = db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, '', 'paid', 0, 0, 0)");
  db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(`m${i}`);
  })();
  t = performance.now();
  db.transaction(() => {
    for (let i = 0; i < n; i++) ensureCode(db, { memberId: `m${i}`, length: 6, now: 0 });
  })();
  const issueMs = performance.now() - t;

  // 10 000 newcomers referred by 1 000 referrers, then each pays: one transaction per payment, as the order service runs it.
  const config = loadConfig('test/fixtures/course', { env: {} });
  const now = 1_000;
  const services = buildServices(registry, { db, config });
  for (let i = 0; i < 10_000; i++) attribute(db, config, { referredId: `m${1000 + i}`, evidence: { source: 'inviter', referrerId: `m${i % 1000}` }, eventId: null, now });
  t = performance.now();
  for (let i = 0; i < 10_000; i++) {
    db.transaction(() => referralRewards.paid(db, config, { id: `o${i}`, memberId: `m${1000 + i}`, productId: 'p', amountFen: 19900, discounts: [] }, now, services))();
  }
  const paidMs = performance.now() - t;
  db.close();
  return [
    { name: 'referral: generate code', value: n / (genMs / 1000), unit: 'codes/s', note: '6 chars, crypto random' },
    { name: 'referral: issue code (store)', value: n / (issueMs / 1000), unit: 'codes/s', note: '100k in one transaction, unique' },
    { name: 'referral: paid hook (reward + tiers)', value: 10_000 / (paidMs / 1000), unit: 'orders/s', note: 'one transaction each' },
  ];
}
