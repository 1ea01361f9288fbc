import { createCipheriv, createDecipheriv, createPublicKey, createSign, createVerify, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * WeChat Pay API v3 notifications, both sides: verification and decryption (what kequn does with
 * every notification, whichever provider sent it) and signing and encryption (what the sandbox
 * provider does, so the demo and the tests run the production verification code).
 *
 * Wire format (pay.weixin.qq.com, "回调通知"): headers Wechatpay-Timestamp, -Nonce, -Serial,
 * -Signature (base64 RSA-SHA256 over `timestamp\nnonce\nbody\n`); the body is JSON whose
 * `resource` is AEAD_AES_256_GCM ciphertext (base64 of ciphertext‖16-byte tag) under the API v3
 * key, with the resource's `nonce` as IV and `associated_data` as AAD.
 */

/** Notifications this far from our clock are refused (replays of an old, genuine notification). */
export const MAX_SKEW_MS = 5 * 60_000;

export interface NotificationKeys {
  /** Platform certificates or platform public keys, by serial / public key id (several during a rotation). */
  platformKeys: ReadonlyMap<string, KeyObject>;
  /** The 32-byte API v3 key. */
  apiV3Key: Buffer;
}

export interface NotificationBody {
  id: string;
  create_time: string;
  event_type: string;
  resource_type: string;
  summary?: string;
  resource: { algorithm: string; ciphertext: string; associated_data?: string; nonce: string; original_type?: string };
}

export type Verified = { ok: true; body: NotificationBody; resource: Record<string, unknown> } | { ok: false; reason: string };

/** A PEM platform certificate or public key → a public key. */
export function publicKeyFromPem(pem: string): KeyObject {
  return pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
}

/** The API v3 key as bytes; it must be exactly 32 bytes (WeChat's merchant platform makes 32 characters). */
export function apiV3KeyFrom(text: string): Buffer {
  const key = Buffer.from(text, 'utf8');
  if (key.length !== 32) throw new Error(`the API v3 key must be 32 bytes, got ${key.length}`);
  return key;
}

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  return headers[name.toLowerCase()];
}

/**
 * Verifies a notification over the exact raw body, then decrypts its resource. Nothing here
 * touches state: a refusal means the caller changes nothing.
 */
export function verifyNotification(req: { headers: Record<string, string | undefined>; rawBody: string; now: number }, keys: NotificationKeys): Verified {
  const timestamp = header(req.headers, 'wechatpay-timestamp');
  const nonce = header(req.headers, 'wechatpay-nonce');
  const serial = header(req.headers, 'wechatpay-serial');
  const signature = header(req.headers, 'wechatpay-signature');
  if (!timestamp || !nonce || !serial || !signature) return { ok: false, reason: 'missing Wechatpay-Timestamp/Nonce/Serial/Signature header' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
  if (Math.abs(req.now - Number(timestamp) * 1000) > MAX_SKEW_MS) return { ok: false, reason: 'timestamp more than 5 minutes off (replay?)' };
  const key = keys.platformKeys.get(serial);
  if (!key) return { ok: false, reason: `unknown platform key serial ${serial.slice(0, 64)}` };
  // WeChat's probes ("WECHATPAY/SIGNTEST/…") are deliberately invalid and fail right here.
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${timestamp}\n${nonce}\n${req.rawBody}\n`);
  let good = false;
  try {
    good = verifier.verify(key, signature, 'base64');
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad signature' };
  let body: NotificationBody;
  try {
    body = JSON.parse(req.rawBody) as NotificationBody;
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const r = body?.resource;
  if (typeof body?.id !== 'string' || typeof body.event_type !== 'string' || !r || typeof r.ciphertext !== 'string' || typeof r.nonce !== 'string') {
    return { ok: false, reason: 'body lacks id, event_type or resource' };
  }
  if (r.algorithm !== 'AEAD_AES_256_GCM') return { ok: false, reason: `unsupported algorithm ${String(r.algorithm)}` };
  try {
    const plain = decryptResource(r, keys.apiV3Key);
    const resource = JSON.parse(plain) as unknown;
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) return { ok: false, reason: 'resource is not an object' };
    return { ok: true, body, resource: resource as Record<string, unknown> };
  } catch {
    return { ok: false, reason: 'resource does not decrypt (tampered, or wrong API v3 key)' };
  }
}

export function decryptResource(r: { ciphertext: string; associated_data?: string; nonce: string }, apiV3Key: Buffer): string {
  const data = Buffer.from(r.ciphertext, 'base64');
  if (data.length < 17) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', apiV3Key, Buffer.from(r.nonce, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  decipher.setAAD(Buffer.from(r.associated_data ?? '', 'utf8'));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}

export function encryptResource(plain: string, apiV3Key: Buffer, associatedData: string): { algorithm: 'AEAD_AES_256_GCM'; ciphertext: string; associated_data: string; nonce: string } {
  const nonce = randomBytes(9).toString('base64url').slice(0, 12);
  const cipher = createCipheriv('aes-256-gcm', apiV3Key, Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { algorithm: 'AEAD_AES_256_GCM', ciphertext: ct.toString('base64'), associated_data: associatedData, nonce };
}

/** RSA-SHA256, base64: how WeChat Pay signs everything (and how merchants sign requests and JSAPI params). */
export function rsaSign(message: string, privateKey: KeyObject | string): string {
  return createSign('RSA-SHA256').update(message).sign(privateKey, 'base64');
}

/**
 * Builds a notification exactly as WeChat Pay sends it: the sandbox provider's "platform" side.
 * Returns the headers (lower-case) and the raw body.
 */
export function buildNotification(args: {
  id: string;
  eventType: string;
  resource: Record<string, unknown>;
  originalType: string;
  summary: string;
  signer: { serial: string; privateKey: KeyObject | string };
  apiV3Key: Buffer;
  now: number;
}): { headers: Record<string, string>; rawBody: string } {
  const body = {
    id: args.id,
    create_time: new Date(args.now).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    resource_type: 'encrypt-resource',
    event_type: args.eventType,
    summary: args.summary,
    resource: { original_type: args.originalType, ...encryptResource(JSON.stringify(args.resource), args.apiV3Key, args.originalType) },
  };
  const rawBody = JSON.stringify(body);
  const timestamp = String(Math.floor(args.now / 1000));
  const nonce = randomBytes(16).toString('hex');
  const signature = rsaSign(`${timestamp}\n${nonce}\n${rawBody}\n`, args.signer.privateKey);
  return {
    rawBody,
    headers: {
      'content-type': 'application/json',
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-serial': args.signer.serial,
      'wechatpay-signature': signature,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    },
  };
}
