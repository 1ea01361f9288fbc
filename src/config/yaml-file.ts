import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import type { ConfigProblem } from './errors.js';
import { formatKeyPath } from './errors.js';

/** Largest config file we accept: a guard against pasting a data dump into config/. */
const MAX_BYTES = 2 * 1024 * 1024;

/**
 * One YAML file with its positions kept, so any problem found later (by zod or by the rule
 * compiler) can be reported at the line of the offending key.
 */
export class YamlFile {
  readonly display: string;
  private doc: Document | undefined;
  private lines = new LineCounter();
  readonly problems: ConfigProblem[] = [];
  /** Located like problems, but the course still loads: `kequn check` prints them. */
  readonly warnings: ConfigProblem[] = [];
  data: unknown;

  constructor(readonly path: string, cwd = process.cwd()) {
    this.display = relative(cwd, path) || path;
  }

  /** Reads and parses; returns false (with problems recorded) when the file is unusable. */
  load(): boolean {
    let text: string;
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
      text = buf.toString('utf8');
    } catch (e) {
      this.problem([], `cannot read: ${(e as Error).message}`);
      return false;
    }
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
