/**
 * Next-course ranking, pure (the benchmark runs it on a simulated purchase log): the products a
 * member has not bought, scored by
 * - co-purchase (item-to-item collaborative filtering over everyone's paid orders): of those who
 *   bought a product this member bought, the share who also bought the candidate (the best such
 *   product counts);
 * - content: the share of the member's interests (tags and topics of what they bought, doubled for
 *   what they finished; the FAQ entries they asked about, by how often; their own tags) that the
 *   candidate's tags and topics cover;
 * - popularity: the share of buyers who bought the candidate (what a newcomer falls back to);
 * and the course path: a candidate whose `requires` are not all bought is pushed far down, one
 * whose requires are met (and that has some) gets a small lift as the next step.
 * Each result carries a one-line reason in Chinese built from the part that weighed most.
 */

export interface CatalogItem {
  id: string;
  title: string;
  tags: readonly string[];
  topics: readonly string[];
  requires: readonly string[];
}

export interface MemberSignals {
  /** Products bought (not refunded), in purchase order. */
  bought: readonly string[];
  /** Of those, the ones they finished. */
  finished: readonly string[];
  /** FAQ entries (or words) their questions were about, with counts. */
  topics: readonly { entry: string; count: number }[];
  /** The member's tags. */
  tags: readonly string[];
}

/** Everyone's baskets folded: buyers per product and pairs bought together. */
export interface CoPurchase {
  buyers: Map<string, number>;
  pairs: Map<string, Map<string, number>>;
  /** Members with at least one purchase. */
  members: number;
}

export interface Ranked {
  productId: string;
  score: number;
  reason: string;
  parts: { co: number; content: number; popularity: number; requiresMet: boolean };
}

export const WEIGHTS = { co: 0.45, content: 0.35, popularity: 0.2, unmetRequires: 0.2, pathStep: 0.1 } as const;

/** Folds baskets (each member's distinct products) into buyer and pair counts. */
export function buildCoPurchase(baskets: Iterable<readonly string[]>): CoPurchase {
  const buyers = new Map<string, number>();
  const pairs = new Map<string, Map<string, number>>();
  let members = 0;
  for (const raw of baskets) {
    const basket = [...new Set(raw)];
    if (basket.length === 0) continue;
    members++;
    for (const a of basket) {
      buyers.set(a, (buyers.get(a) ?? 0) + 1);
      let row = pairs.get(a);
      if (!row) pairs.set(a, (row = new Map()));
      for (const b of basket) if (b !== a) row.set(b, (row.get(b) ?? 0) + 1);
    }
  }
  return { buyers, pairs, members };
}

/** The co-purchase fold without one member's basket (leave-one-out: a member's own history must not vote for them). */
export function withoutBasket(co: CoPurchase, basket: readonly string[]): CoPurchase {
  const items = [...new Set(basket)];
  if (items.length === 0) return co;
  const buyers = new Map(co.buyers);
  const pairs = new Map(co.pairs);
  for (const a of items) {
    buyers.set(a, (buyers.get(a) ?? 1) - 1);
    const row = new Map(pairs.get(a) ?? []);
    for (const b of items) if (b !== a) row.set(b, (row.get(b) ?? 1) - 1);
    pairs.set(a, row);
  }
  return { buyers, pairs, members: co.members - 1 };
}

const norm = (s: string) => s.trim().toLowerCase();

/** Does an interest term name a product term? Equal, or one contains the other (`pandas` ~ `pandas-install`). */
function termsMatch(a: string, b: string): boolean {
  const x = norm(a);
  const y = norm(b);
  return x === y || (x.length >= 2 && y.length >= 2 && (x.includes(y) || y.includes(x)));
}

/**
 * Ranks every product of `catalog` the member has not bought, best first.
 *
 * @example rank(catalog, { bought: ['intro'], finished: ['intro'], topics: [{ entry: 'pandas', count: 3 }], tags: [] }, co)[0]
 *   // { productId: 'data', reason: '因为你完成了《Python 入门》并经常问 pandas 的问题', … }
 */
export function rank(catalog: readonly CatalogItem[], m: MemberSignals, co: CoPurchase): Ranked[] {
  const byId = new Map(catalog.map((p) => [p.id, p]));
  const owned = new Set(m.bought);
  const finished = new Set(m.finished);
  // The member's interests: a term and its weight, and where it came from (for the reason).
  const interests: { term: string; weight: number; from: { kind: 'product'; id: string } | { kind: 'topic'; count: number } | { kind: 'tag' } }[] = [];
  for (const id of m.bought) {
    const p = byId.get(id);
    if (!p) continue;
    const w = finished.has(id) ? 2 : 1;
    for (const t of [...p.tags, ...p.topics]) interests.push({ term: t, weight: w, from: { kind: 'product', id } });
  }
  for (const t of m.topics) interests.push({ term: t.entry, weight: t.count, from: { kind: 'topic', count: t.count } });
  for (const t of m.tags) interests.push({ term: t, weight: 1, from: { kind: 'tag' } });
  const mass = interests.reduce((s, i) => s + i.weight, 0);
  const maxBuyers = co.members;

  const out: Ranked[] = [];
  for (const p of catalog) {
    if (owned.has(p.id)) continue;
    const terms = [...p.tags, ...p.topics];
    const matched = interests.filter((i) => terms.some((t) => termsMatch(i.term, t)));
    const content = mass > 0 ? Math.min(1, matched.reduce((s, i) => s + i.weight, 0) / mass) : 0;
    let coScore = 0;
    let coFrom: string | undefined;
    for (const b of m.bought) {
      const n = co.buyers.get(b) ?? 0;
      if (n <= 0) continue;
      const c = (co.pairs.get(b)?.get(p.id) ?? 0) / n;
      if (c > coScore) [coScore, coFrom] = [c, b];
    }
    const popularity = maxBuyers > 0 ? (co.buyers.get(p.id) ?? 0) / maxBuyers : 0;
    const requiresMet = p.requires.every((r) => owned.has(r));
    let score = WEIGHTS.co * coScore + WEIGHTS.content * content + WEIGHTS.popularity * popularity;
    if (!requiresMet) score *= WEIGHTS.unmetRequires;
    else if (p.requires.length > 0) score += WEIGHTS.pathStep;
    out.push({ productId: p.id, score, reason: reasonFor(p, byId, m, matched, coFrom, coScore, popularity), parts: { co: coScore, content, popularity, requiresMet } });
  }
  // Ties (a newcomer with no signal at all): what they can take now first, then catalog order (the seller's own order of the path).
  return out.sort((a, b) => b.score - a.score || Number(b.parts.requiresMet) - Number(a.parts.requiresMet));
}

function reasonFor(
  p: CatalogItem,
  byId: Map<string, CatalogItem>,
  m: MemberSignals,
  matched: { term: string; weight: number; from: { kind: 'product'; id: string } | { kind: 'topic'; count: number } | { kind: 'tag' } }[],
  coFrom: string | undefined,
  coScore: number,
  popularity: number,
): string {
  const title = (id: string) => `《${byId.get(id)?.title ?? id}》`;
  const missing = p.requires.filter((r) => !m.bought.includes(r));
  if (missing.length > 0) return `要先学完${missing.map(title).join('、')}`;
  // What they did before: the product this one follows on the path, else the one its buyers share, else a content match.
  const before = p.requires.find((r) => m.bought.includes(r)) ?? (coScore > 0 ? coFrom : undefined) ?? matched.find((i) => i.from.kind === 'product')?.from;
  const beforeId = typeof before === 'string' ? before : before?.kind === 'product' ? before.id : undefined;
  const did = beforeId ? `${m.finished.includes(beforeId) ? '完成了' : '学了'}${title(beforeId)}` : undefined;
  const asked = matched.filter((i) => i.from.kind === 'topic').sort((a, b) => b.weight - a.weight)[0];
  const askedTerm = asked ? (p.topics.find((t) => termsMatch(asked.term, t)) ?? p.tags.find((t) => termsMatch(asked.term, t)) ?? asked.term) : undefined;
  const askedText = asked && askedTerm ? `${asked.weight >= 2 ? '经常问' : '问过'} ${askedTerm} 的问题` : undefined;
  if (did && askedText) return `因为你${did}并${askedText}`;
  if (did && coScore > 0 && beforeId === coFrom) return `因为你${did}，学过它的同学有 ${Math.round(coScore * 100)}% 接着报了这门课`;
  if (did) return `因为你${did}，这是下一步`;
  if (askedText) return `因为你${askedText}`;
  const tag = matched.find((i) => i.from.kind === 'tag');
  if (tag) return `因为你对 ${tag.term} 感兴趣`;
  return popularity > 0 ? `这是同学们报得最多的课之一（${Math.round(popularity * 100)}% 的学员报了）` : '这门课适合作为起点';
}

/** The popularity baseline: most-bought products the member has not bought, best first. */
export function popular(catalog: readonly CatalogItem[], bought: readonly string[], co: CoPurchase): string[] {
  const owned = new Set(bought);
  return catalog.filter((p) => !owned.has(p.id)).sort((a, b) => (co.buyers.get(b.id) ?? 0) - (co.buyers.get(a.id) ?? 0)).map((p) => p.id);
}
