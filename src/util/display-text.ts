/**
 * Display names come from members: anything a WeChat or Telegram profile lets a person type.
 * Control characters (C0, C1: an ESC sequence rewrites the operator's terminal), line breaks (a
 * fake second line in `kequn why`), bidirectional overrides (U+202E turns "evil.exe" around)
 * and zero-width characters (two "Alice"s that differ invisibly) are what make a name lie.
 * Names are normalised once, where they enter (cleanName: the adapters and the engine), and
 * everything the CLI prints is escaped again (termSafe), for names stored before that.
 *
 * Chinese, emoji (with their joiners, variation selectors and skin tones) and ordinary spaces
 * pass unchanged.
 *
 * @example cleanName('Bob\u202Egnp.exe')   // 'Bobgnp.exe'
 * @example cleanName('张三\nOWNER: 李老师') // '张三 OWNER: 李老师'
 * @example cleanName('👨‍👩‍👧 小明')         // '👨‍👩‍👧 小明' (the joiners between emoji stay)
 * @example termSafe('a\u001b[2Jb')          // 'a\\u001b[2Jb'
 */

/** Longest display name kept, in UTF-16 units (a pair is never cut in half). */
export const MAX_NAME_CHARS = 64;
/** Longest group title kept (Telegram allows 128). */
export const MAX_TITLE_CHARS = 128;

/** Line breaks and tabs: a name is one line, so they become a space. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;

/**
 * Invisible or reordering characters: C0 and C1 controls and DEL, bidi marks, embeddings,
 * overrides and isolates, zero-width space / non-joiner / joiner, word joiner and invisible
 * operators, deprecated format characters, BOM, Mongolian vowel separator, soft hyphen,
 * interlinear annotation marks, Hangul fillers (blank "names"), and tag characters.
 */
/** INVISIBLE's characters below U+10000, also what cleanName's shortcut (PLAIN) must not meet. */
const INVISIBLE_BMP = '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u115f\\u1160\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\u3164\\ufeff\\uffa0\\ufff9-\\ufffb';
const INVISIBLE = new RegExp(`[${INVISIBLE_BMP}]|\\u{e0001}|[\\u{e0020}-\\u{e007f}]`, 'gu');

/** What may stand either side of a zero-width joiner inside one emoji (👨‍👩‍👧, 🏳️‍🌈). */
const EMOJI_JOIN = /(?<=\p{Extended_Pictographic}|[\u{1f3fb}-\u{1f3ff}]|\ufe0f)\u200d(?=\p{Extended_Pictographic})/gu;
/** Tag characters are kept only as the tail of a flag (🏴 + tags, e.g. Scotland's). */
const FLAG_TAGS = /\u{1f3f4}[\u{e0020}-\u{e007e}]+\u{e007f}/gu;

/**
 * Placeholders that survive INVISIBLE while it runs: private-use characters nobody types in a
 * name, and any that arrive anyway are dropped (or escaped) first, so they cannot make a joiner.
 */
const KEEP_ZWJ = '\u{f0001}';
const PLACEHOLDERS = /[\u{f0001}-\u{f0003}]/gu;

function protectEmoji(s: string, tags: string[], stray: (c: string) => string): string {
  return s.replace(PLACEHOLDERS, stray).replace(EMOJI_JOIN, KEEP_ZWJ).replace(FLAG_TAGS, (m) => {
    tags.push(m);
    return `\u{f0002}${tags.length - 1}\u{f0003}`;
  });
}

function restoreEmoji(s: string, tags: string[]): string {
  return s.replaceAll(KEEP_ZWJ, '\u200d').replace(/\u{f0002}(\d+)\u{f0003}/gu, (_, i: string) => tags[Number(i)]!);
}

/**
 * A display name as kequn stores and shows it: line breaks and tabs become a space, invisible and
 * reordering characters are dropped, at most `max` UTF-16 units. Not a string: ''.
 */
export function cleanName(raw: unknown, max = MAX_NAME_CHARS): string {
  if (typeof raw !== 'string') return '';
  // Most names (every event carries one): nothing below would change them.
  if (raw.length <= max && PLAIN.test(raw)) return raw;
  return cleanNameSlowly(raw, max);
}

/**
 * No character any step of cleanName touches: INVISIBLE's (the zero-width joiner among them), the
 * BREAKS the controls leave out (\u2028, \u2029), and no surrogate at all (emoji, tag characters,
 * the placeholders and lone halves all are pairs or halves).
 */
const PLAIN = new RegExp(`^[^${INVISIBLE_BMP}\\u2028\\u2029\\ud800-\\udfff]*$`);

/** cleanName's every step (exported for the test that compares it with the shortcut above). */
export function cleanNameSlowly(raw: string, max = MAX_NAME_CHARS): string {
  const tags: string[] = [];
  let s = restoreEmoji(protectEmoji(raw.replace(BREAKS, ' '), tags, () => '').replace(INVISIBLE, ''), tags);
  // Lone surrogates are no text either (a platform's broken encoding).
  s = s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '');
  if (s.length > max) {
    s = s.slice(0, max);
    if (/[\ud800-\udbff]$/.test(s)) s = s.slice(0, -1);
  }
  return s;
}

/**
 * Text for the operator's terminal: every character cleanName would drop is shown as an escape
 * (`\u202e`), so nothing a member typed can move the cursor, clear the screen, reorder a line
 * or hide in it. Newlines and tabs pass, since `write` prints multi-line output (JSON, tables);
 * a field that must stay on its line goes through oneLine.
 */
export function termSafe(text: string): string {
  const tags: string[] = [];
  // JSON's and JavaScript's escape (\u202e, a pair for astral characters): `kequn member export`
  // stays valid JSON, and decoding it gives back exactly what was stored.
  const esc = (c: string) => [...c].flatMap((ch) => (ch.length === 2 ? [ch.charCodeAt(0), ch.charCodeAt(1)] : [ch.charCodeAt(0)])).map((u) => `\\u${u.toString(16).padStart(4, '0')}`).join('');
  return restoreEmoji(
    protectEmoji(text, tags, esc).replace(INVISIBLE, (c) => (c === '\n' || c === '\t' ? c : esc(c))).replace(/[\u0085\u2028\u2029]/g, esc),
    tags,
  );
}

/** termSafe, and a field stays on its line: newlines and tabs are escaped too. */
export function oneLine(text: string): string {
  return termSafe(text).replace(/[\n\t]/g, (c) => (c === '\n' ? '\\n' : '\\t'));
}
