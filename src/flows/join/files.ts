/**
 * QR images on disk: where uploads are kept (join.qr_dir, else a `join-qr` folder beside the
 * SQLite file, else `data/join-qr` under the working folder for PostgreSQL), what an upload may
 * be (PNG or JPEG by its first bytes, at most 1 MB), and the page's image as a data: URL, cached
 * per QR row (a row never changes: a new upload is a new row).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import QRCode from 'qrcode';
import type { CourseConfig } from '../../core/types.js';
import type { QrRow } from './store.js';

export const MAX_QR_BYTES = 1024 * 1024;

export function qrDirOf(config: Pick<CourseConfig, 'join' | 'dataPath'>): string {
  if (config.join.qrDir) return config.join.qrDir;
  const p = config.dataPath;
  if (p === ':memory:' || /^postgres(ql)?:\/\//i.test(p)) return resolve('data', 'join-qr');
  return join(dirname(p), 'join-qr');
}

/** The image type by the file's first bytes (what it claims to be does not count), or why not. */
export function sniffImage(bytes: Uint8Array): { mime: 'image/png' | 'image/jpeg'; ext: 'png' | 'jpg' } | { error: string } {
  if (bytes.length === 0) return { error: '没有收到图片文件。' };
  if (bytes.length > MAX_QR_BYTES) return { error: `图片太大（${Math.ceil(bytes.length / 1024)} KB），最大 1024 KB。` };
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length > 64 && png.every((b, i) => bytes[i] === b)) return { mime: 'image/png', ext: 'png' };
  if (bytes.length > 64 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { mime: 'image/jpeg', ext: 'jpg' };
  return { error: '只能上传 PNG 或 JPG 格式的群二维码图片。' };
}

/** Writes an upload under the QR folder; returns its file name there. */
export function saveQrImage(config: Pick<CourseConfig, 'join' | 'dataPath'>, groupId: string, bytes: Uint8Array, ext: string, now: number): string {
  const dir = qrDirOf(config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = `${groupId}-${now}-${randomBytes(4).toString('hex')}.${ext}`;
  writeFileSync(join(dir, name), bytes, { mode: 0o600, flag: 'wx' });
  return name;
}

const cache = new Map<number, string>();

/** The QR code as a data: URL for the page's <img>, or undefined when its file is gone. */
export async function qrDataUrl(config: Pick<CourseConfig, 'join' | 'dataPath'>, qr: QrRow): Promise<string | undefined> {
  const hit = cache.get(qr.id);
  if (hit) return hit;
  let url: string;
  if (qr.kind === 'puppet') {
    url = await QRCode.toDataURL(qr.qr_text ?? '', { margin: 1, width: 320 });
  } else {
    // The name was made by saveQrImage; a row naming anything else is not read.
    if (!qr.file || !/^[a-z0-9_-]+-\d+-[0-9a-f]{8}\.(png|jpg)$/.test(qr.file)) return undefined;
    try {
      url = `data:${qr.mime};base64,${readFileSync(join(qrDirOf(config), qr.file)).toString('base64')}`;
    } catch {
      return undefined;
    }
  }
  if (cache.size > 200) cache.clear();
  cache.set(qr.id, url);
  return url;
}
