/**
 * Plain BM25, the yardstick `kequn eval-qa` prints beside kequn's own figures: one document per
 * entry (question, alternates and answer together), terms = lowercase Latin words and Chinese
 * characters and character bigrams, k1 = 1.2, b = 0.75. No segmenter, no stemming, no synonyms,
 * no confidence: what a reader would build in an afternoon, so "better than plain BM25" means
 * something on any FAQ.
 */
import { normalize } from './tokenize.js';
import type { FaqEntry } from './retrieval.js';

const K1 = 1.2;
const B = 0.75;

export function plainTerms(text: string): string[] {
  const out: string[] = [];
  const s = normalize(text).toLowerCase();
  for (const m of s.matchAll(/\p{Script=Han}+|[\p{L}\p{N}]+/gu)) {
    const run = m[0];
    if (!/\p{Script=Han}/u.test(run)) {
      out.push(run);
      continue;
    }
    for (let i = 0; i < run.length; i++) {
      out.push(run[i]!);
      if (i + 1 < run.length) out.push(run.slice(i, i + 2));
    }
  }
  return out;
}

export class PlainBm25 {
  private readonly ids: string[] = [];
  private readonly docs: Map<string, number>[] = [];
  private readonly lens: number[] = [];
  private readonly df = new Map<string, number>();
  private avg = 1;

  constructor(entries: Iterable<FaqEntry>) {
    for (const e of entries) {
      const tf = new Map<string, number>();
      const terms = plainTerms([e.question, ...(e.alternates ?? []), e.answer].join('\n'));
      for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const t of tf.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
      this.ids.push(e.id);
      this.docs.push(tf);
      this.lens.push(terms.length);
    }
    this.avg = this.lens.reduce((a, b) => a + b, 0) / (this.lens.length || 1) || 1;
  }

  /** Entry ids, best first (at most k). */
  search(query: string, k: number): string[] {
    const n = this.ids.length;
    const q = new Set(plainTerms(query));
    const scored: { id: string; s: number }[] = [];
    this.docs.forEach((tf, d) => {
      let s = 0;
      for (const t of q) {
        const f = tf.get(t);
        if (!f) continue;
        const df = this.df.get(t)!;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        s += (idf * f * (K1 + 1)) / (f + K1 * (1 - B + (B * this.lens[d]!) / this.avg));
      }
      if (s > 0) scored.push({ id: this.ids[d]!, s });
    });
    return scored
      .sort((a, b) => b.s - a.s)
      .slice(0, k)
      .map((x) => x.id);
  }
}
