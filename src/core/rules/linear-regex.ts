import { RE2JS } from 're2js';

/**
 * Regular expressions that come from config (rule `matches:` conditions), run on a linear-time
 * engine (re2js, a pure-JS port of RE2): a pattern such as `^(a+)+$` cannot backtrack
 * catastrophically on a member's message, whatever the message. A 33-character message once
 * held the whole process (web server included) for 21.8 s on the JS engine.
 *
 * The syntax accepted is JavaScript's (`new RegExp(source, 'u')`), so a course writes what the
 * docs and every regex tester show, and the meaning is JavaScript's too: the pattern is
 * translated to RE2 syntax where the two differ (`\s` includes the ideographic space U+3000,
 * `.` stops at line breaks, `\u4e00`, `\p{Script=Han}`). What a linear-time engine cannot run
 * at all, backreferences (`\1`, `\k<name>`) and lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`), is
 * refused with a message that says so, as is anything RE2 does not support.
 *
 * @example
 * const r = compileLinearRegex('^\\s*打卡', { ignoreCase: true });
 * if (r.ok) r.regex.test('\u3000打卡 第3天'); // true (U+3000 is \s, as in JavaScript)
 * compileLinearRegex('(a)\\1', { ignoreCase: false }); // { ok: false, message: 'backreferences (\\1) ...' }
 */
export interface LinearRegex {
  /** The pattern as written in config. */
  readonly source: string;
  /** RE2's program size: the time to test a text is at most about cost × text length (see below). */
  readonly cost: number;
  /** Whether the pattern matches anywhere in `text` (like RegExp.prototype.test, without state). */
  test(text: string): boolean;
}

/**
 * The most a single pattern may cost (RE2 program size). Time per test is about cost × length:
 * measured here (2 cores, Node 20), a pattern of cost 286 on an adversarial 4,000-character
 * message takes 50-85 ms; the demo's patterns cost 7-26 and take microseconds.
 */
export const MAX_PATTERN_COST = 300;

/**
 * Text a pattern looks at: the adapters already cut messages at MAX_TEXT_CHARS (4,000,
 * src/bot/events.ts); any longer string fact is cut here too, so no test can take longer than
 * a message-sized one.
 */
export const MAX_SUBJECT_CHARS = 4000;

export type CompiledPattern = { ok: true; regex: LinearRegex } | { ok: false; message: string };

/** JavaScript's `\s`: WhiteSpace and LineTerminator of ECMA-262 (Zs plus tab, line breaks and BOM). */
const JS_SPACE = '\\t\\n\\x{0B}\\f\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
/** JavaScript's `.` without the `s` flag: anything but a line terminator. */
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';
/** Every code point (JavaScript's `[^]`), and none (JavaScript's `[]`). */
const ANY = '[\\x{0}-\\x{10FFFF}]';
const NONE = '[^\\x{0}-\\x{10FFFF}]';

/** General categories by their long names (JavaScript accepts both; RE2 only the short ones). */
const CATEGORY: Record<string, string> = {
  Letter: 'L', Uppercase_Letter: 'Lu', Lowercase_Letter: 'Ll', Titlecase_Letter: 'Lt', Modifier_Letter: 'Lm', Other_Letter: 'Lo',
  Mark: 'M', Combining_Mark: 'M', Nonspacing_Mark: 'Mn', Spacing_Mark: 'Mc', Enclosing_Mark: 'Me',
  Number: 'N', Decimal_Number: 'Nd', digit: 'Nd', Letter_Number: 'Nl', Other_Number: 'No',
  Punctuation: 'P', punct: 'P', Connector_Punctuation: 'Pc', Dash_Punctuation: 'Pd', Open_Punctuation: 'Ps', Close_Punctuation: 'Pe',
  Initial_Punctuation: 'Pi', Final_Punctuation: 'Pf', Other_Punctuation: 'Po',
  Symbol: 'S', Math_Symbol: 'Sm', Currency_Symbol: 'Sc', Modifier_Symbol: 'Sk', Other_Symbol: 'So',
  Separator: 'Z', Space_Separator: 'Zs', Line_Separator: 'Zl', Paragraph_Separator: 'Zp',
  Other: 'C', Control: 'Cc', cntrl: 'Cc', Format: 'Cf', Surrogate: 'Cs', Private_Use: 'Co', Unassigned: 'Cn',
};

class Unsupported extends Error {}

/**
 * Compiles a config pattern for the linear-time engine, or says why it cannot run there.
 * `ignoreCase` is JavaScript's `i` (Unicode simple case folding, as RE2 does).
 */
export function compileLinearRegex(source: string, opts: { ignoreCase: boolean }): CompiledPattern {
  try {
    // JavaScript's own parser first: the documented syntax is JavaScript's, and a pattern it
    // refuses gets its familiar message.
    new RegExp(source, 'u');
  } catch (e) {
    return { ok: false, message: `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}` };
  }
  let translated: string;
  try {
    translated = toRe2(source);
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, message: e.message };
    throw e;
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(translated, opts.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (e) {
    return { ok: false, message: `not supported by the linear-time regex engine (RE2 syntax): ${(e as Error).message.replace(/^error parsing regexp: /, '')}` };
  }
  const cost = re.programSize();
  if (cost > MAX_PATTERN_COST) {
    return { ok: false, message: `too complex for the linear-time regex engine (cost ${cost}, at most ${MAX_PATTERN_COST}): split it over several conditions or rules, use smaller repeat counts, or use "contains" for plain words` };
  }
  const required = requiredLiterals(source);
  return {
    ok: true,
    regex: {
      source,
      cost,
      // matcher().find(), not test(): test() runs RE2's lazily built DFA, which on adversarial
      // text builds a new state per character (50 µs each here, 200 ms for one message) and
      // keeps up to 8 MB of them per pattern; find() runs the backtracker or NFA, whose time is
      // bounded by cost × length and which keeps nothing between messages. 2-3 µs per test
      // on a chat message, against 0.7 µs for test().
      // A text with none of the texts every match contains one of cannot match: no engine run
      // (most messages, for `^\\s*打卡`; issue 20).
      test: (text) => (required === undefined || required.some((t) => text.includes(t))) && re.matcher(text.length > MAX_SUBJECT_CHARS ? text.slice(0, MAX_SUBJECT_CHARS) : text).find(),
    },
  };
}

/**
 * Texts of which every match of `source` contains one (or undefined: none found), each made of
 * characters no case folding can change: a text with none of them cannot match, whatever the
 * flags. Conservative: a run of plain characters counts only where nothing quantifies it, a
 * group only unquantified (then one of its alternatives' texts), only characters with no case
 * variant (Han, digits, punctuation; not letters, which `i` folds); an escape whose length is
 * not one character (`\u…`, `\x…`, `\p{…}`, `\c…`, `\k<…>`) gives up on the whole pattern.
 *
 * @example requiredLiterals('^\\s*(交|提交)?作业') // ['作业']
 * @example requiredLiterals('^\\s*(排行榜|打卡排行榜?)\\s*$') // ['排行榜', '打卡排行']
 */
export function requiredLiterals(source: string): string[] | undefined {
  const cps = Array.from(source);
  let i = 0;
  /** Any of these (undefined: nothing known) for alternatives up to `)` or the end. */
  const alternatives = (): string[] | undefined => {
    const all: string[] = [];
    let known = true;
    for (;;) {
      const r = sequence();
      if (r === undefined) known = false;
      else all.push(...r);
      if (cps[i] !== '|') break;
      i++;
    }
    return known && all.length <= MAX_LITERALS ? [...new Set(all)] : undefined;
  };
  /** The best requirement of a sequence of atoms (to `|`, `)` or the end): any one of them holds for it. */
  const sequence = (): string[] | undefined => {
    let best: string[] | undefined;
    let run: string[] = [];
    const consider = (r: string[] | undefined) => {
      if (r !== undefined && r.length > 0 && (best === undefined || score(r) > score(best))) best = r;
    };
    const end = () => {
      if (run.length > 0) consider([run.join('')]);
      run = [];
    };
    while (i < cps.length && cps[i] !== '|' && cps[i] !== ')') {
      const c = cps[i++]!;
      if (c === '\\') {
        const e = cps[i];
        if (e === undefined || 'uxpPck'.includes(e)) throw GIVE_UP;
        end();
        i++;
      } else if (c === '[') {
        end();
        // To the class's end: `]` not escaped (a JavaScript class has no nested classes without the v flag).
        for (; i < cps.length && cps[i] !== ']'; i++) if (cps[i] === '\\') i++;
        i++;
      } else if (c === '(') {
        end();
        // (?:…) and (?<name>…); lookaround was refused before this runs.
        if (cps[i] === '?') {
          i++;
          if (cps[i] === '<') while (i < cps.length && cps[i] !== '>') i++;
          i++;
        }
        const inner = alternatives();
        i++; // the `)`
        const next = cps[i];
        if (next === undefined || !QUANTIFIER.includes(next)) consider(inner);
      } else if (QUANTIFIER.includes(c)) {
        // Quantifies the atom before it: a character of the run drops out of it (any other atom ended the run).
        run.pop();
        end();
        if (c === '{') while (i < cps.length && cps[i - 1] !== '}') i++;
      } else if (c === '^' || c === '$' || c === '.' || !caseless(c)) {
        end();
      } else {
        run.push(c);
      }
    }
    end();
    return best;
  };
  try {
    const r = alternatives();
    return r !== undefined && r.length > 0 ? r : undefined;
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

const GIVE_UP = Symbol('no literal');
const QUANTIFIER = '?*+{';
/** More texts than this to look for cost more than they save. */
const MAX_LITERALS = 8;

/** A requirement's worth: its shortest text's length (longer: rarer in messages), then fewer texts. */
function score(r: string[]): number {
  return Math.min(...r.map((t) => t.length)) * 100 - r.length;
}

/** A character that is only ever itself under case-insensitive matching (no upper, lower or title form). */
function caseless(c: string): boolean {
  return c.toLowerCase() === c && c.toUpperCase() === c && !/[\p{L}\p{M}]/u.test(c) ? true : /^\p{Script=Han}$/u.test(c);
}

/**
 * JavaScript (u-mode, already validated) to RE2 syntax. A scanner, not a full parser: it only
 * needs to know whether it is inside a character class and where each escape ends.
 */
function toRe2(src: string): string {
  const cps = Array.from(src);
  let out = '';
  let i = 0;
  // Inside [...]: its items so far, whether negated, and whether it holds \S (see closeClass).
  let cls: { negated: boolean; items: string; nonSpace: boolean } | null = null;

  const peek = (k = 0) => cps[i + k] ?? '';
  const readHex = (n: number) => {
    const h = cps.slice(i, i + n).join('');
    i += n;
    return parseInt(h, 16);
  };

  while (i < cps.length) {
    const c = cps[i++]!;
    if (c === '\\') {
      const esc = escape();
      if (cls) {
        if (esc === NON_SPACE) cls.nonSpace = true;
        else cls.items += esc.inClass;
      } else {
        out += esc === NON_SPACE ? `[^${JS_SPACE}]` : esc.outside;
      }
      continue;
    }
    if (cls) {
      if (c === ']') {
        out += closeClass(cls);
        cls = null;
      } else {
        // `[` is literal in a JavaScript class but may open `[:alpha:]` in RE2.
        cls.items += c === '[' ? '\\[' : c;
      }
      continue;
    }
    switch (c) {
      case '[': {
        const negated = peek() === '^';
        if (negated) i++;
        if (peek() === ']') {
          i++;
          out += negated ? ANY : NONE;
        } else {
          cls = { negated, items: '', nonSpace: false };
        }
        break;
      }
      case '.':
        out += JS_DOT;
        break;
      case '(':
        if (peek() === '?') {
          const next = peek(1);
          const after = peek(2);
          if (next === '=' || next === '!') throw new Unsupported(`lookahead (?${next}…) is not supported: the linear-time regex engine cannot run it; match the text itself instead`);
          if (next === '<' && (after === '=' || after === '!')) throw new Unsupported(`lookbehind (?<${after}…) is not supported: the linear-time regex engine cannot run it; match the text itself instead`);
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;

  /** The escape after a backslash (i is past the backslash): its RE2 text outside and inside a class. */
  function escape(): { outside: string; inClass: string } | typeof NON_SPACE {
    const c = cps[i++] ?? '';
    const same = { outside: `\\${c}`, inClass: `\\${c}` };
    switch (c) {
      case 'd': case 'D': case 'w': case 'W': case 't': case 'n': case 'r': case 'f':
        return same;
      case 'v':
        return { outside: '\\x{0B}', inClass: '\\x{0B}' };
      case 'b':
        // A word boundary outside a class, a backspace inside one.
        return { outside: '\\b', inClass: '\\x{8}' };
      case 'B':
        return same;
      case 's':
        return { outside: `[${JS_SPACE}]`, inClass: JS_SPACE };
      case 'S':
        return NON_SPACE;
      case '0':
        return hex(0);
      case 'c': {
        const letter = cps[i++]!;
        return hex(letter.codePointAt(0)! % 32);
      }
      case 'x':
        return hex(readHex(2));
      case 'u': {
        if (peek() === '{') {
          const end = cps.indexOf('}', i);
          const cp = parseInt(cps.slice(i + 1, end).join(''), 16);
          i = end + 1;
          return hex(cp);
        }
        const unit = readHex(4);
        // A surrogate pair written as two escapes is one code point in u-mode.
        if (unit >= 0xd800 && unit <= 0xdbff && peek() === '\\' && peek(1) === 'u' && peek(2) !== '{') {
          const low = parseInt(cps.slice(i + 2, i + 6).join(''), 16);
          if (low >= 0xdc00 && low <= 0xdfff) {
            i += 6;
            return hex(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00));
          }
        }
        return hex(unit);
      }
      case 'p':
      case 'P': {
        const end = cps.indexOf('}', i);
        const body = cps.slice(i + 1, end).join('');
        i = end + 1;
        const p = `\\${c}{${property(body)}}`;
        return { outside: p, inClass: p };
      }
      case 'k':
        throw new Unsupported('backreferences (\\k<name>) are not supported: the linear-time regex engine cannot run them');
      default:
        if (c >= '1' && c <= '9') throw new Unsupported(`backreferences (\\${c}) are not supported: the linear-time regex engine cannot run them`);
        // An escaped syntax character (`\.`, `\(`, `\/`, `\-`): RE2 reads escaped punctuation as itself.
        return same;
    }
  }
}

const NON_SPACE = Symbol('\\S');

function hex(cp: number): { outside: string; inClass: string } {
  const h = `\\x{${cp.toString(16).toUpperCase()}}`;
  return { outside: h, inClass: h };
}

/**
 * A class with \S in it: RE2 cannot put "not JavaScript whitespace" inside a class with other
 * items, so `[ab\S]` becomes `(?:[ab]|[^space])`. Negated, `[^ab\S]` means "whitespace other
 * than a or b", which has no RE2 spelling: refused.
 */
function closeClass(cls: { negated: boolean; items: string; nonSpace: boolean }): string {
  if (!cls.nonSpace) return `[${cls.negated ? '^' : ''}${cls.items}]`;
  if (cls.negated) throw new Unsupported('\\S inside a negated class [^…\\S…] is not supported: write the whitespace you mean, e.g. [ \\t]');
  return cls.items === '' ? `[^${JS_SPACE}]` : `(?:[${cls.items}]|[^${JS_SPACE}])`;
}

/** A `\p{…}` body, JavaScript's spelling to RE2's: scripts and general categories. */
function property(body: string): string {
  const eq = body.indexOf('=');
  if (eq >= 0) {
    const key = body.slice(0, eq);
    const value = body.slice(eq + 1);
    if (key === 'Script' || key === 'sc') return value;
    if (key === 'General_Category' || key === 'gc') return CATEGORY[value] ?? value;
    throw new Unsupported(`\\p{${body}} is not supported: the linear-time regex engine knows scripts (\\p{Script=Han}) and general categories (\\p{L})`);
  }
  if (body in CATEGORY) return CATEGORY[body]!;
  if (/^[A-Z][a-z]?$/.test(body)) return body;
  throw new Unsupported(`\\p{${body}} is not supported: the linear-time regex engine knows scripts (\\p{Script=Han}) and general categories (\\p{L}), not binary properties such as \\p{${body}}`);
}
