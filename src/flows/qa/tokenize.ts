/**
 * Mixed Chinese/English text analysis for FAQ retrieval.
 *
 * One pass over the text yields several kinds of terms, which the index weighs separately:
 *  - words: English words (lowercased, stopwords out, Porter-stemmed), code-ish tokens kept whole
 *    (`pandas.read_csv`, `node.js`, `c++`, `--version`) beside their parts, and the words jieba
 *    cuts from Chinese runs (search mode, stopwords out);
 *  - concepts: one term per synonym group a word belongs to (see synonyms.ts);
 *  - bigrams / unigrams: Chinese character bigrams and single characters, which do not depend on
 *    how jieba happened to segment a phrase;
 *  - grams: character trigrams of English words, for spelling and word-form variants;
 *  - joins: two adjacent English words written as one ("git hub" → "github"); the index only uses
 *    those that are words of the bank.
 *
 * Never throws: any input (not a string, empty, huge, binary junk, lone surrogates, zero-width
 * characters) gives some, possibly empty, result. Input beyond MAX_CHARS is ignored.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Jieba } from '@node-rs/jieba';
import { stemmer } from 'stemmer';
import { EN_STOPWORDS, ZH_STOPCHARS, ZH_STOPWORDS } from './stopwords.js';
import { SYNONYM_GROUPS } from './synonyms.js';

/**
 * The Porter stemmer (the `stemmer` package) for plain lowercase English words; anything else
 * (digits, code tokens like `py3`, short words) passes unchanged, as the index expects.
 */
function porterStem(word: string): string {
  return word.length <= 2 || !/^[a-z]+$/.test(word) ? word : stemmer(word);
}

export const MAX_CHARS = 200_000;
const MAX_TOKEN = 40;

export interface Analyzed {
  words: string[];
  /** the words that belong to no synonym group (those that do are represented by their concept) */
  freeWords: string[];
  concepts: string[];
  bigrams: string[];
  unigrams: string[];
  grams: string[];
  joins: string[];
}

// ---------------------------------------------------------------------------------------------
// jieba, loaded once on first use. If the native module cannot load, Chinese text still gets
// bigrams and unigrams, which is how the index works without segmentation.

let jieba: Jieba | null | undefined;

function getJieba(): Jieba | null {
  if (jieba !== undefined) return jieba;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@node-rs/jieba') as typeof import('@node-rs/jieba');
    // The dictionary file itself, not '@node-rs/jieba/dict.js': that module also reads the 6 MB
    // TF-IDF table kequn never uses and keeps both buffers (11 MB) in the require cache for
    // good. This buffer is garbage once jieba has built its own copy.
    jieba = mod.Jieba.withDict(readFileSync(require.resolve('@node-rs/jieba/dict.txt')));
  } catch {
    jieba = null;
  }
  return jieba;
}

/** Whether the segmenter's dictionary has been loaded in this process (about 40 MB once it is). */
export function segmenterLoaded(): boolean {
  return jieba !== undefined && jieba !== null;
}

/**
 * Bump when analyze() would cut any text differently (a rule of this file changes): stored
 * indexes made by the old analysis are then rebuilt (src/flows/qa/stored-index.ts).
 */
export const ANALYZER_VERSION = 1;

let fingerprint: string | undefined;

/**
 * What the analysis of a text depends on besides the text: this file's version, jieba's version
 * and dictionary, the stopwords and the synonym groups. Part of a stored index's key; computed
 * without loading jieba.
 */
export function analyzerFingerprint(): string {
  if (fingerprint) return fingerprint;
  const h = createHash('sha256').update(`analyzer ${ANALYZER_VERSION}\n`);
  try {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve('@node-rs/jieba/package.json'), 'utf8')) as { version?: string };
    h.update(`jieba ${pkg.version}\n`).update(readFileSync(require.resolve('@node-rs/jieba/dict.txt')));
  } catch {
    h.update('no jieba\n');
  }
  for (const list of [SYNONYM_GROUPS, [...EN_STOPWORDS], [...ZH_STOPWORDS], [...ZH_STOPCHARS]]) h.update(`${list.join('\u0001')}\n`);
  return (fingerprint = h.digest('hex'));
}

/** Loads the segmenter now (about 160 ms) rather than on the first Chinese text. */
export function warmUp(): boolean {
  return getJieba() !== null;
}

// ---------------------------------------------------------------------------------------------
// Synonyms: word → group ids. English entries are keyed by their stem.

let synonymIndex: { byWord: Map<string, number[]>; zhMulti: Map<string, number[]>; zhMaxLen: number } | undefined;

function synonyms() {
  if (synonymIndex) return synonymIndex;
  const byWord = new Map<string, number[]>();
  const zhMulti = new Map<string, number[]>();
  let zhMaxLen = 0;
  const add = (m: Map<string, number[]>, k: string, g: number) => {
    const list = m.get(k);
    if (!list) m.set(k, [g]);
    else if (!list.includes(g)) list.push(g);
  };
  SYNONYM_GROUPS.forEach((line, g) => {
    for (const raw of line.split(/\s+/).filter(Boolean)) {
      const w = raw.toLowerCase();
      if (HAN_ONLY.test(w)) {
        add(byWord, w, g);
        if (w.length > 1) {
          add(zhMulti, w, g);
          zhMaxLen = Math.max(zhMaxLen, w.length);
        }
      } else {
        add(byWord, porterStem(w), g);
      }
    }
  });
  synonymIndex = { byWord, zhMulti, zhMaxLen };
  return synonymIndex;
}

// ---------------------------------------------------------------------------------------------

const HAN_ONLY = /^\p{Script=Han}+$/u;
/** Question frames, longest first: the words students wrap around a topic in any question. */
const QUESTION_FRAMES = /怎么办|怎么样|怎么弄|怎么|怎样|如何|为什么|为啥|什么|在哪里|在哪儿|哪里|哪儿|在哪|哪个|哪些|是不是|有没有|能不能|可不可以|可以吗|行不行|请问|问一下|一下/gu;
const HAN_SPLIT = /(\p{Script=Han}+)/u;
/** A run of letters/digits, with inner . _ + # ' - joining pieces, an optional leading -- and trailing ++ or #. */
const LATIN_TOKEN = /(?:--?)?[\p{L}\p{N}_]+(?:[.+#'-][\p{L}\p{N}_]+)*(?:\+\+|#)?/gu;
// The ranges are deliberate: these are the characters to strip, combining or not.
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/g;
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** NFKC (full-width → half-width, compatibility forms), invisible and control characters out, curly quotes straightened. */
export function normalize(input: unknown): string {
  let s = typeof input === 'string' ? input : input == null ? '' : safeString(input);
  if (s.length > MAX_CHARS) s = s.slice(0, MAX_CHARS);
  s = s.replace(LONE_SURROGATE, ' ');
  try {
    s = s.normalize('NFKC');
  } catch {
    /* keep as is */
  }
  return s.replace(INVISIBLE, '').replace(CONTROL, ' ').replace(/[\u2018\u2019\u02BC\uFF07`]/g, "'");
}

function safeString(x: unknown): string {
  try {
    return String(x);
  } catch {
    return '';
  }
}

function emitWord(out: Analyzed, w: string, concepts = true): void {
  out.words.push(w);
  const groups = synonyms().byWord.get(w);
  if (!groups) out.freeWords.push(w);
  else if (concepts) for (const g of groups) out.concepts.push(`${g}`);
}

function emitEnglishWord(out: Analyzed, lower: string): string | undefined {
  if (lower.length > MAX_TOKEN || EN_STOPWORDS.has(lower)) return undefined;
  if (lower.length === 1 && !/\d/.test(lower)) return undefined;
  const stem = porterStem(lower);
  emitWord(out, stem);
  if (/^[a-z]{3,}$/.test(stem)) {
    const padded = `<${stem}>`;
    for (let i = 0; i + 3 <= padded.length; i++) out.grams.push(padded.slice(i, i + 3));
  }
  return stem;
}

const CAMEL_PART = /[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+/g;

/** Processes one latin-script token; returns the plain word (lowercase, unstemmed) if it was one, for joins. */
function latinToken(out: Analyzed, token: string): string | undefined {
  if (token.length > 2 * MAX_TOKEN) return undefined;
  let t = token;
  if (t.startsWith('-')) {
    // a command-line option: keep `--version` whole, and its word
    const lower = t.toLowerCase();
    if (lower.length <= MAX_TOKEN) emitWord(out, lower);
    t = t.replace(/^-+/, '');
  }
  t = t.replace(/'s$/i, '').replace(/'/g, '');
  if (!t) return undefined;
  const lower = t.toLowerCase();
  if (/^[\p{L}\p{N}]+$/u.test(t)) {
    // camelCase identifiers with three or more humps (ModuleNotFoundError) also give their words
    const parts = t.match(CAMEL_PART);
    if (parts && parts.length >= 3 && /[a-z][A-Z]/.test(t)) {
      if (lower.length <= MAX_TOKEN) emitWord(out, lower);
      for (const p of parts) emitEnglishWord(out, p.toLowerCase());
      return undefined;
    }
    emitEnglishWord(out, lower);
    return /^[a-z]+$/.test(lower) ? lower : undefined;
  }
  if (/^[\p{L}\p{N}]+(?:\+\+|#)$/u.test(t)) {
    // c++, c#, f#
    if (lower.length <= MAX_TOKEN) emitWord(out, lower);
    return undefined;
  }
  const parts = lower.split(/[._+#-]+/).filter(Boolean);
  if (/^[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)+$/u.test(t)) {
    // hyphenated words: e-mail → email, e, mail
    const joined = parts.join('');
    if (joined.length <= MAX_TOKEN && !EN_STOPWORDS.has(joined)) emitEnglishWord(out, joined);
    for (const p of parts) emitEnglishWord(out, p);
    return undefined;
  }
  if (parts.every((p) => /^\d+$/.test(p))) {
    // 3.11, 192.168.0.1
    if (lower.length <= MAX_TOKEN) emitWord(out, lower);
    return undefined;
  }
  // code-ish: pandas.read_csv, node.js, python.org
  if (lower.length <= MAX_TOKEN) emitWord(out, lower);
  for (const p of parts) emitEnglishWord(out, p);
  return undefined;
}

function hanRun(out: Analyzed, run: string): void {
  const seg = getJieba();
  if (seg) {
    let words: string[] = [];
    try {
      words = seg.cutForSearch(run, true);
    } catch {
      words = [];
    }
    for (const w of words) {
      if (!w || ZH_STOPWORDS.has(w)) continue;
      if (w.length === 1 && ZH_STOPCHARS.has(w)) continue;
      // single-character synonyms only count where jieba cut them as a word (装, not 服装)
      emitWord(out, w, w.length === 1);
    }
  }
  // multi-character synonym words anywhere in the run, whatever jieba made of them: longest
  // match first, left to right
  const syn = synonyms();
  for (let i = 0; i < run.length; ) {
    let matched = 0;
    for (let n = Math.min(syn.zhMaxLen, run.length - i); n >= 2; n--) {
      const groups = syn.zhMulti.get(run.slice(i, i + n));
      if (groups) {
        for (const g of groups) out.concepts.push(`${g}`);
        matched = n;
        break;
      }
    }
    i += matched || 1;
  }
  // Characters of question frames (怎么办, 哪里, 有没有…) say what kind of answer is wanted, not
  // what it is about: they give no unigrams or bigrams.
  const frame = new Uint8Array(run.length);
  for (const m of run.matchAll(QUESTION_FRAMES)) frame.fill(1, m.index, m.index + m[0].length);
  for (let i = 0; i < run.length; i++) {
    if (frame[i]) continue;
    const c = run[i]!;
    if (!ZH_STOPCHARS.has(c)) out.unigrams.push(c);
    if (i + 1 < run.length && !frame[i + 1]) {
      const d = run[i + 1]!;
      if (!(ZH_STOPCHARS.has(c) && ZH_STOPCHARS.has(d))) out.bigrams.push(c + d);
    }
  }
}

let analyses = 0;

/** How many texts analyze() has been given in this process (a start that read its stored index adds none). */
export function analysisCount(): number {
  return analyses;
}

/** Analyzes text into the term kinds the index uses. */
export function analyze(input: unknown): Analyzed {
  analyses++;
  const out: Analyzed = { words: [], freeWords: [], concepts: [], bigrams: [], unigrams: [], grams: [], joins: [] };
  try {
    const text = normalize(input);
    if (!text) return out;
    const pieces = text.split(HAN_SPLIT);
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (!piece) continue;
      if (i % 2 === 1) {
        hanRun(out, piece);
        continue;
      }
      let prev: string | undefined;
      let prevEnd = -1;
      for (const m of piece.matchAll(LATIN_TOKEN)) {
        const plain = latinToken(out, m[0]);
        // two plain words separated only by spaces may be one word written apart
        if (plain && prev && /^\s+$/.test(piece.slice(prevEnd, m.index))) {
          const joined = prev + plain;
          if (joined.length <= MAX_TOKEN) out.joins.push(porterStem(joined));
        }
        prev = plain;
        prevEnd = (m.index ?? 0) + m[0].length;
      }
    }
  } catch {
    // never throw: whatever was collected so far stands
  }
  return out;
}

/** The word-level tokens of a text (English stems, code tokens, Chinese words): for display and tests. */
export function tokenize(input: unknown): string[] {
  return analyze(input).words;
}
