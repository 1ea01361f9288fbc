/**
 * A synthetic FAQ bank for load tests: mixed Chinese/English entries whose words follow a Zipf
 * law, so postings lists are as skewed as in real text. Deterministic for a given seed.
 */
import type { FaqEntry } from './retrieval.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ten', 'sor', 'pa', 'ri', 'dex', 'on', 'vel', 'qu', 'an', 'tro', 'fy', 'sel', 'ing', 'ed', 'ble', 'ma', 'ne'];
const COMMON_EN = ['install', 'error', 'python', 'course', 'video', 'email', 'account', 'download', 'file', 'search', 'export', 'filter', 'delete', 'share', 'link', 'version', 'setting', 'password', 'message', 'folder'];
const HAN = '的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理';

/** `n` entries, about a third Chinese, a third English, a third mixed. */
export function syntheticBank(n: number, seed = 42): FaqEntry[] {
  const r = rng(seed);
  const vocab: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const parts = 2 + Math.floor(r() * 3);
    let w = '';
    for (let j = 0; j < parts; j++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    vocab.push(w);
  }
  vocab.splice(0, COMMON_EN.length, ...COMMON_EN);
  // Zipf: rank ~ floor(V^u) gives P(rank) ∝ 1/rank roughly
  const zipf = (v: number) => Math.min(v - 1, Math.floor(Math.pow(v, r())) - 1);
  const enWord = () => vocab[zipf(vocab.length)]!;
  const zhWord = () => {
    const len = 1 + Math.floor(r() * 3);
    let w = '';
    for (let j = 0; j < len; j++) w += HAN[zipf(HAN.length)]!;
    return w;
  };
  const sentence = (words: number, kind: number) => {
    const out: string[] = [];
    for (let i = 0; i < words; i++) {
      const zh = kind === 0 || (kind === 2 && r() < 0.5);
      out.push(zh ? zhWord() : enWord());
    }
    return kind === 0 ? out.join('') : out.join(' ');
  };
  const bank: FaqEntry[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    bank.push({
      id: `s${i}`,
      question: sentence(4 + Math.floor(r() * 8), kind) + (kind === 0 ? '？' : '?'),
      answer: sentence(20 + Math.floor(r() * 120), kind) + '.',
    });
  }
  return bank;
}

/** Queries made from bank questions: some words dropped, some words from elsewhere added. */
export function syntheticQueries(bank: FaqEntry[], n: number, seed = 7): { query: string; gold: string }[] {
  const r = rng(seed);
  const out: { query: string; gold: string }[] = [];
  for (let i = 0; i < n; i++) {
    const e = bank[Math.floor(r() * bank.length)]!;
    const other = bank[Math.floor(r() * bank.length)]!;
    const words = e.question.split(/(?<=\s)/).filter(() => r() > 0.3);
    const noise = other.answer.slice(0, 12);
    out.push({ query: (words.join('') || e.question) + ' ' + noise, gold: e.id });
  }
  return out;
}
