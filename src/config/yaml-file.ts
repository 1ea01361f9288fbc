import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import type { ConfigProblem } from './errors.js';
import { formatKeyPath } from './errors.js';
import { parsedKey, readParsed, writeParsed } from './parsed-cache.js';

/** Largest config file we accept: a guard against pasting a data dump into config/. */
const MAX_BYTES = 2 * 1024 * 1024;

/** Where a file's parsed form is stored (src/config/parsed-cache.ts): the folder, its name, who reads it. */
export interface ParsedStore {
  dir: string;
  name: string;
  /** The schema's owner (feature and section): part of the key. */
  scope: string;
}

/**
 * One YAML file with its positions kept, so any problem found later (by zod or by the rule
 * compiler) can be reported at the line of the offending key.
 *
 * Given a ParsedStore, load() first looks for the file's validated form stored under the hash of
 * its bytes; found, `data` is that and `validated` is true, and the file is parsed (positions
 * and all) only if a problem or warning must be located in it.
 */
export class YamlFile {
  readonly display: string;
  private doc: Document | undefined;
  private lines = new LineCounter();
  readonly problems: ConfigProblem[] = [];
  /** Located like problems, but the course still loads: `kequn check` prints them. */
  readonly warnings: ConfigProblem[] = [];
  data: unknown;
  /** `data` came from the store: it was validated when it was stored. */
  validated = false;
  /** The text of a file read from the store, parsed only to locate a problem. */
  private text: string | undefined;
  /** Where to store the validated form once parsed (a file not found in the store). */
  private storeAs: { dir: string; key: string; name: string } | undefined;
  /** What the store did for this file (for logs, tests and the bench); none without a ParsedStore. */
  cache: { from: 'stored' | 'parsed'; note?: string } | undefined;

  constructor(readonly path: string, cwd = process.cwd()) {
    this.display = relative(cwd, path) || path;
  }

  /** Reads and parses; returns false (with problems recorded) when the file is unusable. */
  load(store?: ParsedStore): boolean {
    let text: string;
    let bytes: Buffer;
    try {
      const buf = readFileSync(this.path);
      if (buf.length > MAX_BYTES) {
        this.problem([], `file is ${buf.length} bytes; config files are limited to ${MAX_BYTES} bytes`);
        return false;
      }
      if (buf.includes(0)) {
        this.problem([], 'file is binary, not YAML text');
        return false;
      }
      bytes = buf;
      text = buf.toString('utf8');
    } catch (e) {
      this.problem([], `cannot read: ${(e as Error).message}`);
      return false;
    }
    if (store) {
      const key = parsedKey(bytes, store.name, store.scope);
      const stored = readParsed(store.dir, key);
      if ('data' in stored) {
        this.data = stored.data;
        this.validated = true;
        this.text = text;
        this.cache = { from: 'stored' };
        return true;
      }
      this.storeAs = { dir: store.dir, key, name: store.name };
      this.cache = { from: 'parsed', ...(stored.error === 'none stored' ? {} : { note: `stored form not used: ${stored.error}` }) };
    }
    return this.parse(text);
  }

  /**
   * Stores the file's validated form (what its schema made of `data`) for the next load, when
   * load() was given a ParsedStore and did not find it there. Never throws.
   */
  storeValidated(value: unknown): void {
    if (!this.storeAs) return;
    const { dir, key, name } = this.storeAs;
    this.storeAs = undefined;
    const written = writeParsed(dir, key, name, value);
    if ('error' in written && this.cache) this.cache.note = `${this.cache.note ? `${this.cache.note}; ` : ''}not stored: ${written.error}`;
  }

  private parse(text: string): boolean {
    // Custom tags are refused and aliases are capped: a config file is data, never code, and
    // an alias bomb must fail fast rather than exhaust memory.
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true, customTags: [] });
    // `linePos` is only filled in with prettyErrors; `pos` (an offset) always is.
    for (const err of this.doc.errors) {
      this.problems.push({ file: this.display, line: this.lines.linePos(err.pos[0]).line, keyPath: '', message: `YAML syntax: ${err.message.split('\n')[0]}` });
    }
    for (const warn of this.doc.warnings) {
      this.problems.push({ file: this.display, line: this.lines.linePos(warn.pos[0]).line, keyPath: '', message: `YAML: ${warn.message.split('\n')[0]}` });
    }
    if (this.doc.errors.length > 0 || this.doc.warnings.length > 0) return false;
    try {
      this.data = this.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      this.problem([], `YAML: ${(e as Error).message}`);
      return false;
    }
    return true;
  }

  /** The line of the node at `path`, or of its nearest existing ancestor. */
  lineOf(path: readonly (string | number)[]): number {
    if (!this.doc && this.text !== undefined) {
      // Read from the store: parsed now, for its positions (the same bytes parsed without problems).
      const text = this.text;
      this.text = undefined;
      this.parse(text);
    }
    if (!this.doc) return 1;
    for (let n = path.length; n >= 0; n--) {
      const node = this.nodeAt(path.slice(0, n));
      if (node?.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  private nodeAt(path: readonly (string | number)[]): Node | undefined {
    let node: unknown = this.doc?.contents;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) return undefined;
        // Point at the value when it exists, else at the key itself.
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
      } else {
        return undefined;
      }
    }
    return node as Node | undefined;
  }

  problem(path: readonly (string | number)[], message: string): void {
    this.problems.push({ file: this.display, line: this.lineOf(path), keyPath: formatKeyPath(path), message });
  }

  warn(path: readonly (string | number)[], message: string): void {
    this.warnings.push({ file: this.display, line: this.lineOf(path), keyPath: formatKeyPath(path), message });
  }
}
