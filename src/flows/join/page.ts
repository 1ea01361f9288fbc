/**
 * The join page's HTML (Chinese, phone first, no script): the group's QR code or invite link,
 * or a clear sentence when there is none to give. Its one style sheet is served by kequn
 * (/join-assets/join.css); the CSP allows nothing else but the QR's data: image.
 */
import { fmtLocal } from '../../util/localtime.js';

export const JOIN_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export const JOIN_CSS = `
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Noto Sans SC",sans-serif;background:#f2f4f3;color:#1d2320}
main{max-width:440px;margin:0 auto;padding:28px 18px 40px}
.card{background:#fff;border-radius:16px;padding:24px 20px;box-shadow:0 2px 12px rgba(0,0,0,.06);text-align:center}
.course{font-size:14px;color:#5b6661;margin:0 0 6px}
h1{font-size:22px;margin:0 0 18px;line-height:1.35}
.qr{width:100%;max-width:280px;aspect-ratio:1;object-fit:contain;border:1px solid #e3e7e5;border-radius:12px;padding:8px;background:#fff}
.hint{font-size:17px;margin:16px 0 6px;font-weight:600}
.sub{font-size:14px;color:#5b6661;margin:6px 0;line-height:1.6}
.button{display:block;margin:18px auto 8px;padding:14px 18px;border-radius:12px;background:#1aad5a;color:#fff;text-decoration:none;font-size:18px;font-weight:600}
.note{font-size:13px;color:#8a948f;margin-top:18px;text-align:center;line-height:1.6}
table{width:100%;border-collapse:collapse;margin:12px 0;font-size:14px;text-align:left}
td,th{border-bottom:1px solid #e3e7e5;padding:6px 4px}
form{margin:8px 0 0}
input,button{font-size:14px;margin:4px 0}
.error{color:#b3261e}
`;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function shell(title: string, body: string, refreshSeconds?: number): string {
  const refresh = refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : '';
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh}<title>${esc(title)}</title><link rel="stylesheet" href="/join-assets/join.css"></head><body><main>${body}</main></body></html>`;
}

/** A page that only says something (an unknown link, a full pool, too many views). */
export function messagePage(course: string, title: string, text: string, refreshSeconds?: number): string {
  return shell(title, `<div class="card"><p class="course">${esc(course)}</p><h1>${esc(title)}</h1><p class="sub">${esc(text)}</p></div>`, refreshSeconds);
}

export function qrPage(a: { course: string; group: string; image: string; expiresAt: number; timeZone: string }): string {
  return shell(
    `加入「${a.group}」`,
    `<div class="card"><p class="course">${esc(a.course)}</p><h1>加入「${esc(a.group)}」</h1>` +
      `<img class="qr" alt="${esc(a.group)} 群二维码" src="${a.image}">` +
      `<p class="hint">长按二维码，识别后加入群聊</p>` +
      `<p class="sub">在电脑上打开？请用手机微信「扫一扫」扫描。</p>` +
      `<p class="sub">二维码有效至 ${esc(fmtLocal(a.expiresAt, a.timeZone))}</p></div>` +
      `<p class="note">进群后请留意群公告，老师会发体验课。</p>`,
  );
}

export function linkPage(a: { course: string; group: string; url: string }): string {
  return shell(
    `加入「${a.group}」`,
    `<div class="card"><p class="course">${esc(a.course)}</p><h1>加入「${esc(a.group)}」</h1>` +
      `<a class="button" href="${esc(a.url)}" rel="noopener">打开 Telegram 加入群组</a>` +
      `<p class="sub">如果没有自动打开，请复制链接到 Telegram：</p><p class="sub">${esc(a.url)}</p></div>` +
      `<p class="note">进群后请留意置顶消息，老师会发体验课。</p>`,
  );
}
