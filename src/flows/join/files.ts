/**
 * QR images: what an upload may be (PNG or JPEG by its first bytes, at most 1 MB), and the page's
 * image as a data: URL, cached per QR row (a row never changes: a new upload is a new row).
 * Uploads are kept in the store (join_qr_images), so every kequn instance serves them. Uploads
 * from before were files under join.qr_dir (else a `join-qr` folder beside the SQLite file, else
 * `data/join-qr` for PostgreSQL): such a file is read once, where it is, and moved into the store.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import QRCode from 'qrcode';
import type { CourseConfig } from '../../core/types.js';
import { inTransaction, type Db } from '../../store/db.js';
import { insertQrImage, qrImageBase64, type QrRow } from './store.js';

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

/** Per store (a test or tool may open several): QR row id → data: URL. */
const caches = new WeakMap<Db, Map<number, string>>();

/** The QR code as a data: URL for the page's <img>, or undefined when its image is nowhere. */
export async function qrDataUrl(db: Db, config: Pick<CourseConfig, 'join' | 'dataPath'>, qr: QrRow): Promise<string | undefined> {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const hit = cache.get(qr.id);
  if (hit) return hit;
  let url: string;
  if (qr.kind === 'puppet') {
    url = await QRCode.toDataURL(qr.qr_text ?? '', { margin: 1, width: 320 });
  } else {
    const b64 = qrImageBase64(db, qr.id) ?? legacyFile(db, config, qr);
    if (b64 === undefined) return undefined;
    url = `data:${qr.mime};base64,${b64}`;
  }
  if (cache.size > 200) cache.clear();
  cache.set(qr.id, url);
  return url;
}

/**
 * An upload from before the store kept the images: its file under the QR folder, read once and
 * moved into the store (then every instance serves it); undefined when this machine has no such
 * file. The name was made by the old upload code; a row naming anything else is not read.
 */
function legacyFile(db: Db, config: Pick<CourseConfig, 'join' | 'dataPath'>, qr: QrRow): string | undefined {
  if (!qr.file || !/^[a-z0-9_-]+-\d+-[0-9a-f]{8}\.(png|jpg)$/.test(qr.file)) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(qrDirOf(config), qr.file));
  } catch {
    return undefined;
  }
  if ('error' in sniffImage(bytes)) return undefined;
  inTransaction(db, () => insertQrImage(db, qr.id, bytes));
  return bytes.toString('base64');
}
