/**
 * Embeddings from the LLM endpoint (`/embeddings`: OpenAI, DashScope's text-embedding-v3, a local
 * Ollama or vLLM serving bge-m3…), fused with BM25 for the candidate list the LLM answers from.
 *
 * - Every phrasing of every entry (its question, alternates, learned phrasings) has a vector,
 *   cached in the store by model and text (`qa_vectors`), so a restart embeds nothing again and
 *   an FAQ edit or a learned phrasing embeds only what is new.
 * - An entry's similarity to a question is its best phrasing's cosine; the vector ranking and
 *   BM25's are fused by reciprocal rank (RRF), which needs no calibration between the two scores.
 * - The endpoint is untrusted too: a reply with the wrong number of vectors, vectors of different
 *   or unexpected sizes, or non-finite numbers is refused whole, and the bot goes on with BM25
 *   alone (so does a dead endpoint).
 */
import { createHash } from 'node:crypto';

/** RRF's damping constant: the usual 60 (Cormack et al., 2009). */
export const RRF_K = 60;

/**
 * Reciprocal rank fusion: each list votes 1 / (k + rank) for its ids; best total first.
 * @example rrf([['a', 'b'], ['b', 'c']]) // → ['b', 'a', 'c']
 */
export function rrf(lists: readonly (readonly string[])[], k = RRF_K): string[] {
  const score = new Map<string, number>();
  for (const list of lists) list.forEach((id, i) => score.set(id, (score.get(id) ?? 0) + 1 / (k + i + 1)));
  return [...score.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
}

/** The cache key of a text. */
export function textHash(text: string): string {
  return createHash('sha256').update(text.normalize('NFC')).digest('base64url').slice(0, 32);
}

/** Why a reply from /embeddings is refused, or undefined when it is usable. */
export function checkVectors(vectors: unknown, count: number, dims: number | undefined): string | undefined {
  if (!Array.isArray(vectors)) return 'no vectors';
  if (vectors.length !== count) return `${vectors.length} vectors for ${count} texts`;
  const size = dims ?? (Array.isArray(vectors[0]) ? vectors[0].length : 0);
  if (!(size > 0)) return 'empty vectors';
  for (const v of vectors) {
    if (!Array.isArray(v) && !(v instanceof Float32Array)) return 'a vector is not a list of numbers';
    if (v.length !== size) return `vectors of ${v.length} and ${size} numbers (wrong vector size)`;
    const a = v as ArrayLike<unknown>;
    for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number' || !Number.isFinite(a[i])) return 'a vector holds something that is not a finite number';
  }
  return undefined;
}

/** Unit length, so a dot product is the cosine. */
export function normalized(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const s = n > 0 ? 1 / Math.sqrt(n) : 0;
  return Float32Array.from(v, (x) => x * s);
}

/** Phrasing vectors per entry; search by the best phrasing's cosine. */
export class VectorIndex {
  private readonly byEntry = new Map<string, Float32Array[]>();
  dims: number | undefined;

  get size(): number {
    return this.byEntry.size;
  }

  add(entryId: string, vector: ArrayLike<number>): void {
    if (this.dims === undefined) this.dims = vector.length;
    if (vector.length !== this.dims) throw new Error(`vector of ${vector.length} numbers in an index of ${this.dims}`);
    const list = this.byEntry.get(entryId);
    const v = normalized(vector);
    if (list) list.push(v);
    else this.byEntry.set(entryId, [v]);
  }

  /** The k entries closest to a vector, best first. */
  search(vector: ArrayLike<number>, k: number): { id: string; score: number }[] {
    if (vector.length !== this.dims) return [];
    const q = normalized(vector);
    const out: { id: string; score: number }[] = [];
    for (const [id, vs] of this.byEntry) {
      let best = -Infinity;
      for (const v of vs) {
        let dot = 0;
        for (let i = 0; i < q.length; i++) dot += q[i]! * v[i]!;
        if (dot > best) best = dot;
      }
      out.push({ id, score: best });
    }
    return out.sort((a, b) => b.score - a.score).slice(0, k);
  }
}

/** What the vectors are built from: every way of asking each entry. */
export interface Phrasing {
  entryId: string;
  text: string;
}

/** Something that turns texts into vectors (the endpoint, or a test's). */
export type EmbedFn = (texts: string[]) => Promise<{ vectors: number[][] } | { error: string }>;

/** Texts per /embeddings request. */
export const EMBED_BATCH = 64;

/**
 * Builds a VectorIndex over the phrasings, taking cached vectors where there are any and asking
 * `embed` for the rest (in batches); `store` keeps the new ones. Returns the index, or the
 * endpoint's error (then nothing is kept from the failed batch).
 */
export async function buildVectorIndex(
  phrasings: Phrasing[],
  cache: { get(hashes: string[]): Map<string, number[]>; put(rows: { hash: string; vector: number[] }[]): void },
  embed: EmbedFn,
): Promise<{ index: VectorIndex; embedded: number } | { error: string }> {
  const hashes = phrasings.map((p) => textHash(p.text));
  const have = cache.get([...new Set(hashes)]);
  const missing = [...new Set(hashes.filter((h) => !have.has(h)))];
  const textOf = new Map(phrasings.map((p, i) => [hashes[i]!, p.text]));
  let dims = have.size > 0 ? [...have.values()][0]!.length : undefined;
  for (let i = 0; i < missing.length; i += EMBED_BATCH) {
    const batch = missing.slice(i, i + EMBED_BATCH);
    const r = await embed(batch.map((h) => textOf.get(h)!));
    if ('error' in r) return r;
    const bad = checkVectors(r.vectors, batch.length, dims);
    if (bad) return { error: bad };
    dims ??= r.vectors[0]!.length;
    const rows = batch.map((hash, j) => ({ hash, vector: r.vectors[j]! }));
    cache.put(rows);
    for (const row of rows) have.set(row.hash, row.vector);
  }
  const index = new VectorIndex();
  try {
    phrasings.forEach((p, i) => index.add(p.entryId, have.get(hashes[i]!)!));
  } catch (e) {
    // cached vectors of another size (the model behind the name changed): start over
    return { error: (e as Error).message };
  }
  return { index, embedded: missing.length };
}
