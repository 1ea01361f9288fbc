/**
 * `/join-admin` (staff, behind the dashboard's admin login): each pool's groups with their
 * members and QR codes, and the upload of a WeChat group's QR image (PNG or JPEG by its bytes, at
 * most 1 MB, stored under the data folder) with the day WeChat prints under it ("该二维码7天内
 * (12月14日前)有效": the code stops working at the start of that day).
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CourseConfig } from '../../core/types.js';
import type { WebContext } from '../../web/context.js';
import { addDays, isDay, localInstant } from '../../util/days.js';
import { fmtLocal, localDate } from '../../util/localtime.js';
import { inTransaction, type Db } from '../../store/db.js';
import type { JoinPool } from './contracts.js';
import { poolOf } from './config.js';
import { MAX_QR_BYTES, sniffImage } from './files.js';
import { esc, JOIN_HEADERS, shell } from './page.js';
import { fillsOf } from './pick.js';
import { insertQr, insertQrImage, joinHandlesInUse, latestQr } from './store.js';

/** WeChat's group QR codes work for 7 days. */
export const QR_VALID_MS = 7 * 86_400_000;

/** The pools the page serves: declared ones, and trial groups on their own. */
export function allPools(config: CourseConfig): JoinPool[] {
  const pools = Object.values(config.join.pools);
  const inPools = new Set(pools.flatMap((p) => p.groups));
  for (const h of Object.keys(config.groups)) {
    if (inPools.has(h)) continue;
    const p = poolOf(config, h);
    if (p) pools.push(p);
  }
  return pools;
}

/** The groups whose QR codes staff upload: WeChat groups of the pools. */
export function wechatPoolGroups(config: CourseConfig): string[] {
  return [...new Set(allPools(config).filter((p) => p.platform === 'wechat').flatMap((p) => p.groups))];
}

/**
 * The pools kequn looks after without being asked (pool states after joins, room QR codes from
 * the puppet): those declared in `join.pools`, and a single group's page once it was opened or
 * had a QR code. A course that never uses the join page hears nothing of it.
 */
export function poolsInUse(db: Db, config: CourseConfig): JoinPool[] {
  const used = joinHandlesInUse(db);
  const handles = new Set([...used.pools, ...used.qrGroups]);
  return allPools(config).filter((p) => Object.hasOwn(config.join.pools, p.id) || handles.has(p.id));
}

export type UploadResult = { ok: true; id: number; expiresAt: number } | { ok: false; status: 400 | 404 | 413 | 415; error: string };

/** Checks and stores an uploaded QR image for a group: nothing is stored unless all of it is right. */
export function storeUpload(web: Pick<WebContext, 'db'>, config: CourseConfig, a: { group: string; bytes: Uint8Array; expires: string; now: number; by: string | null }): UploadResult {
  if (!wechatPoolGroups(config).includes(a.group)) return { ok: false, status: 404, error: `“${a.group}”不是入群页上的微信群。` };
  const kind = sniffImage(a.bytes);
  if ('error' in kind) return { ok: false, status: a.bytes.length > MAX_QR_BYTES ? 413 : 415, error: kind.error };
  const tz = config.course.timezone;
  if (!isDay(a.expires)) return { ok: false, status: 400, error: '请填写二维码下方写的到期日期，格式如 2026-12-14。' };
  const expiresAt = localInstant(a.expires, 0, tz);
  if (expiresAt <= a.now) return { ok: false, status: 400, error: `到期日期 ${a.expires} 已经过了：请在微信里重新保存群二维码。` };
  if (expiresAt > a.now + QR_VALID_MS + 86_400_000) return { ok: false, status: 400, error: `微信群二维码最多 7 天有效，到期日期不能晚于 ${addDays(localDate(a.now, tz), 8)}。` };
  // The row and its image in one transaction: every instance serves it (join_qr_images).
  const id = inTransaction(web.db, () => {
    const qrId = insertQr(web.db, { groupId: a.group, kind: 'upload', mime: kind.mime, now: a.now, expiresAt, createdBy: a.by });
    insertQrImage(web.db, qrId, a.bytes);
    return qrId;
  });
  return { ok: true, id, expiresAt };
}

function adminPage(web: WebContext, config: CourseConfig, now: number, message?: { text: string; error: boolean }): string {
  const tz = config.course.timezone;
  const defaultDay = addDays(localDate(now, tz), 7);
  const rows: string[] = [];
  for (const pool of allPools(config)) {
    const fills = fillsOf(web.db, pool);
    rows.push(`<h2>${esc(pool.id)}（${pool.platform === 'wechat' ? '微信' : 'Telegram'}，每群 ${pool.capacity} 人）</h2><p class="sub">链接：${esc(config.publicUrl)}/join/${esc(pool.id)}</p><table><tr><th>群</th><th>人数</th><th>二维码</th></tr>`);
    for (const f of fills) {
      const name = config.groups[f.group]?.name ?? f.group;
      let qr = '—';
      if (pool.platform === 'wechat') {
        const q = latestQr(web.db, f.group);
        qr = !q ? '还没有' : q.expires_at <= now ? `已过期（${fmtLocal(q.expires_at, tz)}）` : `有效至 ${fmtLocal(q.expires_at, tz)}${q.kind === 'puppet' ? '（机器人自动获取）' : ''}`;
        qr += `<form method="post" action="/join-admin/qr/${esc(f.group)}" enctype="multipart/form-data"><input type="file" name="image" accept="image/png,image/jpeg" required> 到期日期 <input type="date" name="expires" value="${defaultDay}" required> <button type="submit">上传</button></form>`;
      }
      rows.push(`<tr><td>${esc(name)}<br><span class="sub">${esc(f.group)}</span></td><td>${f.members}/${pool.capacity}</td><td>${qr}</td></tr>`);
    }
    rows.push('</table>');
  }
  const channels = Object.values(config.join.channels)
    .map((ch) => `<li>${esc(ch.name)}：?c=${esc(ch.tag)}</li>`)
    .join('');
  const msg = message ? `<p class="${message.error ? 'error' : 'sub'}">${esc(message.text)}</p>` : '';
  return shell('群活码管理', `<div class="card"><h1>群活码管理</h1>${msg}${rows.join('')}${channels ? `<h2>渠道</h2><ul>${channels}</ul>` : ''}<p class="note">微信群二维码 7 天有效：在微信里打开群聊信息 → 群二维码 → 保存图片，再在这里上传，到期日期填二维码下方写的日期。</p></div>`);
}

export function adminRoutes(app: Hono, web: WebContext): void {
  const send = (c: Context, html: string, status: 200 | 400 | 401 | 403 | 404 | 413 | 415 = 200) => {
    for (const [k, v] of Object.entries(JOIN_HEADERS)) c.header(k, v);
    return c.html(html, status);
  };
  const denied = (c: Context) => send(c, shell('请先登录', '<div class="card"><h1>请先登录</h1><p class="sub">群活码管理需要数据看板的登录：打开 <a href="/dashboard">/dashboard</a> 登录后再回来。</p></div>'), 401);

  app.use('/join-admin/*', bodyLimit({ maxSize: MAX_QR_BYTES + 64 * 1024, onError: (c) => c.html(shell('图片太大', '<div class="card"><h1>图片太大</h1><p class="sub">群二维码图片最大 1024 KB。</p></div>'), 413) }));

  app.get('/join-admin', (c) => {
    if (!web.admin.authed(c)) return denied(c);
    return send(c, adminPage(web, web.config(), web.now()));
  });

  app.post('/join-admin/qr/:group', async (c) => {
    if (!web.admin.authed(c)) return denied(c);
    // A form posted from another site: the session cookie is SameSite=Strict, and this says no too.
    const origin = c.req.header('origin');
    if (origin && origin !== 'null' && new URL(origin).host !== (c.req.header('host') ?? '')) return send(c, shell('不允许', '<div class="card"><h1>不允许</h1></div>'), 403);
    const config = web.config();
    const now = web.now();
    let body: Record<string, string | File | (string | File)[]>;
    try {
      body = await c.req.parseBody();
    } catch {
      return send(c, adminPage(web, config, now, { text: '没有收到表单：请用页面上的上传按钮。', error: true }), 400);
    }
    const image = body.image;
    const expires = body.expires;
    if (!(image instanceof File) || typeof expires !== 'string') return send(c, adminPage(web, config, now, { text: '请选择群二维码图片并填写到期日期。', error: true }), 400);
    const bytes = new Uint8Array(await image.arrayBuffer());
    const r = storeUpload(web, config, { group: c.req.param('group'), bytes, expires: expires.trim(), now, by: null });
    if (!r.ok) return send(c, adminPage(web, config, now, { text: r.error, error: true }), r.status);
    const name = config.groups[c.req.param('group')]?.name ?? c.req.param('group');
    return send(c, adminPage(web, config, now, { text: `已上传「${name}」的群二维码，有效至 ${fmtLocal(r.expiresAt, config.course.timezone)}。`, error: false }));
  });
}
