/**
 * What makes a group message an ad, by its text alone: links to domains the course does not
 * allow, WeChat ids and QQ numbers left as contact details, and the course's keyword list.
 * Repeats and floods need the member's history; the moderation flow checks those.
 */

export interface SpamHit {
  /**
   * Short code kept in the log: `link`, `contact`, `keyword`, `repeat`, `flood`; `removed`: the
   * sender was just removed from the group (their messages until the platform acts are ignored).
   */
  kind: 'link' | 'contact' | 'keyword' | 'repeat' | 'flood' | 'removed';
  /** What was found: the domain, the id, the keyword, the repeated text. */
  evidence: string;
}

const URL_HOST = /\bhttps?:\/\/([^\s/?#:'"<>，。]+)/gi;
const TLDS = 'com|cn|net|org|io|cc|top|xyz|vip|me|co|info|link|site|shop|club|ltd|app|dev|tv|ly|gl|work|biz|store|online';
const BARE_DOMAIN = new RegExp(`(?<![\\w@.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+(?:${TLDS}))(?![\\w-])`, 'gi');
// Chinese keywords may run straight into the id; the short Latin ones need a separator, so
// "wxPython" is not a WeChat id.
const WECHAT_ID = /(?:(?:微信|威信|薇信|徽信|v信|加v|加薇|➕v)\s*号?\s*[:：]?\s*|\b(?:vx|wx|weixin|wechat)(?:\s*号\s*[:：]?\s*|\s*[:：]\s*|\s+))([a-zA-Z][-_a-zA-Z0-9]{5,19})/i;
const QQ_NUMBER = /(?:qq|扣扣|企鹅|q群)\s*(?:号|群)?\s*[:：]?\s*(\d{5,11})(?!\d)/i;

/** Hosts of the links in a text (URLs and bare domains such as `abc.top`), lowercased. */
export function linkHosts(text: string): string[] {
  const hosts = new Set<string>();
  for (const m of text.matchAll(URL_HOST)) hosts.add(m[1]!.toLowerCase().replace(/\.$/, ''));
  for (const m of text.replace(URL_HOST, ' ').matchAll(BARE_DOMAIN)) hosts.add(m[1]!.toLowerCase());
  return [...hosts];
}

/** A host is allowed when it is an allowed domain or a subdomain of one. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  return allowed.some((d) => {
    const a = d.toLowerCase().replace(/^\*?\./, '');
    return host === a || host.endsWith(`.${a}`);
  });
}

/** The first ad marker in a text, or undefined when it is clean. */
export function adInText(text: string, opts: { allowedDomains: readonly string[]; keywords: readonly string[]; contactIds: boolean }): SpamHit | undefined {
  const bad = linkHosts(text).find((h) => !hostAllowed(h, opts.allowedDomains));
  if (bad) return { kind: 'link', evidence: bad };
  if (opts.contactIds) {
    const w = WECHAT_ID.exec(text);
    if (w) return { kind: 'contact', evidence: `微信 ${w[1]}` };
    const q = QQ_NUMBER.exec(text);
    if (q) return { kind: 'contact', evidence: `QQ ${q[1]}` };
  }
  const lower = text.toLowerCase();
  const k = opts.keywords.find((w) => lower.includes(w.toLowerCase()));
  if (k) return { kind: 'keyword', evidence: k };
  return undefined;
}

/** Texts compared for repeats: case, spaces and punctuation do not make a repeat different. */
export function normaliseForRepeat(text: string): string {
  return text.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}
