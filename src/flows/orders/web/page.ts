/**
 * The shell of the order pages (the checkout, the QR page, the sandbox's pay page): one script
 * and one style sheet served by kequn itself (no CDN; the CSP allows only 'self'). The script is a
 * checked browser module, browser/index.ts (src/web/browser-assets.ts); the style browser/style.css.
 */

export const CHECKOUT_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self' https://wx.tenpay.com; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The page's script and style, by their paths under /pay/assets/. */
export const CHECKOUT_SCRIPT = new URL('./browser/index.ts', import.meta.url);
export const CHECKOUT_STYLE = new URL('./browser/style.css', import.meta.url);

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><link rel="stylesheet" href="/pay/assets/checkout.css"></head><body><main>${body}</main><script src="/pay/assets/checkout.js"></script></body></html>`;
}
