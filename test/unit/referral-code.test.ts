import { describe, expect, it } from 'vitest';
import { CODE_ALPHABET, ensureCode, findCodeInText, generateCode, isWellFormed, normalizeCode } from '../../src/flows/referral/code.js';

import { findCode } from '../../src/flows/referral/store.js';
import { T0 } from '../helpers/fixtures.js';
import { openTestStore, testBackend } from '../helpers/store.js';

describe('referral code generator', () => {
  it('uses only unambiguous characters: no 0/O, 1/I/L, no lowercase', () => {
    expect(CODE_ALPHABET).toHaveLength(31);
    for (const bad of '0O1IL') expect(CODE_ALPHABET).not.toContain(bad);
    for (let i = 0; i < 2000; i++) {
      const code = generateCode(6);
      expect(code).toMatch(/^[2-9A-HJKMNP-Z]{6}$/);
      expect(isWellFormed(code)).toBe(true); // at least one digit and one letter
    }
  });

  it('draws every character about equally often (rejection sampling, no modulo bias)', () => {
    const counts = new Map<string, number>();
    const n = 100_000;
    for (let i = 0; i < n; i++) for (const ch of generateCode(6)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(31);
    // Redrawing codes without a digit (or a letter) favours digits as a class; within each class
    // every character is equally likely (600 000 draws: within 3% of the class mean).
    for (const cls of ['23456789', 'ABCDEFGHJKMNPQRSTUVWXYZ']) {
      const c = [...cls].map((ch) => counts.get(ch)!);
      const mean = c.reduce((a, b) => a + b, 0) / c.length;
      for (const x of c) expect(Math.abs(x - mean) / mean).toBeLessThan(0.03);
    }
  });

  // 100 000 on SQLite; on PostgreSQL each of the 300 000 statements is a network round trip, so
  // the same check runs on 10 000 (the uniqueness is the store's constraint either way).
  const n = testBackend === 'postgres' ? 10_000 : 100_000;
  it(`issues ${n} codes to ${n} members, all different, through the store`, () => {
    const db = openTestStore();
    const insert = db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, '', 'paid', 0, 0, 0)");
    const codes = new Set<string>();
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        insert.run(`m${i}`);
        codes.add(ensureCode(db, { memberId: `m${i}`, length: 6, now: T0 }).code.code);
      }
    })();
    expect(codes.size).toBe(n);
    expect((db.prepare('SELECT COUNT(DISTINCT code) AS n FROM referral_codes').get() as { n: number }).n).toBe(n);
    // A member keeps their code.
    expect(ensureCode(db, { memberId: 'm7', length: 6, now: T0 })).toMatchObject({ issued: false });
  });

  it('draws again when the code is taken, and gives up loudly when the space is exhausted', () => {
    const db = openTestStore();
    for (const id of ['a', 'b']) db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, '', 'paid', 0, 0, 0)").run(id);
    // A byte source that repeats the same code twice, then moves on.
    const same = Uint8Array.from([0, 0, 0, 0, 10, 10]); // "2222CC"
    const next = Uint8Array.from([1, 1, 1, 1, 11, 11]); // "3333DD"
    let calls = 0;
    const rigged = (n: number) => {
      calls++;
      const b = calls <= 2 ? same : next;
      return Uint8Array.from({ length: n }, (_, i) => b[i % 6]!);
    };
    expect(ensureCode(db, { memberId: 'a', length: 6, now: T0, bytes: rigged }).code.code).toBe('2222CC');
    expect(ensureCode(db, { memberId: 'b', length: 6, now: T0, bytes: rigged }).code.code).toBe('3333DD');
    expect(findCode(db, '2222CC')!.member_id).toBe('a');
    db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES ('c', '', 'paid', 0, 0, 0)").run();
    expect(() => ensureCode(db, { memberId: 'c', length: 6, now: T0, bytes: () => same })).toThrow(/raise referral.code_length/);
  });

  it('finds a code in what members write, but not ordinary words', () => {
    expect(findCodeInText('推荐码 k7m2xq')).toBe('K7M2XQ');
    expect(findCodeInText('我的推荐码是 K7M2XQ 谢谢')).toBe('K7M2XQ');
    expect(findCodeInText('邀请码：K7M-2XQ')).toBe('K7M2XQ');
    expect(findCodeInText('推荐码 K7M 2XQ')).toBe('K7M2XQ');
    expect(findCodeInText('referral code is k7m2xq')).toBe('K7M2XQ');
    expect(findCodeInText('  k7m2xq ')).toBe('K7M2XQ');
    // With a keyword even a malformed code is taken (the member hears it is unknown).
    expect(findCodeInText('推荐码 OOOO11')).toBe('OOOO11');
    for (const text of ['PANDAS', 'thanks', '123456', '我的推荐码', '推荐码怎么用？', '老师，Python 怎么安装？', 'python3', '']) {
      expect(findCodeInText(text)).toBeNull();
    }
    expect(normalizeCode(' ab-c_d ')).toBe('ABCD');
  });
});
