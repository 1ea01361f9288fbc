/**
 * Links in chat messages: the bot's messages carry checkout links, invite links and lesson links,
 * which a member taps in WeChat. The playground makes them clickable the same way, as text split
 * into parts: no HTML is parsed, and only http(s) addresses become links (never javascript: or
 * data: URLs a simulated member could type).
 */

export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

/** Characters that end an address: spaces, quotes, CJK and full-width punctuation (how WeChat ends a link in Chinese text). */
const STOP = '\\s<>"\'\\u3000-\\u303f\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65';
/** An http(s) address: a host right after `//` (not `https:///x`), up to the first STOP character. */
const URL_RE = new RegExp(`https?://[^/${STOP}][^${STOP}]*`, 'g');
/** Trailing ASCII punctuation that ends a sentence rather than the address. */
const TRAILING = /[.,;:!?)\]}]+$/;

/** Splits `text` into plain parts and link parts, in order; joined back they give `text`. */
export function linkParts(text: string): TextPart[] {
  const out: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    const trail = TRAILING.exec(url);
    if (trail) url = url.slice(0, url.length - trail[0].length);
    const start = m.index ?? 0;
    if (!isHttpUrl(url)) continue;
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) });
    out.push({ kind: 'link', text: url, href: url });
    last = start + url.length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
