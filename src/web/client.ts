import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { AddressList, plainAddress } from '../util/address-list.js';

/** Who sent a request, as far as kequn can tell. */
export interface Client {
  /** The client's address: the socket's, or from X-Forwarded-For when the socket is a trusted proxy. */
  ip: string;
  /** The original request was HTTPS (the server's own TLS, or X-Forwarded-Proto from a trusted proxy). */
  https: boolean;
  /** The socket's own address (the proxy's, behind one). */
  socketIp: string;
}

const clients = new WeakMap<Request, Client>();

function socketOf(c: Context): IncomingMessage['socket'] | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
}

/**
 * The client of a request: X-Forwarded-For and X-Forwarded-Proto are read only when the socket
 * is one of `trust` (web.trust_proxy / KEQUN_TRUST_PROXY); anyone else could write them. Behind
 * trusted proxies the client is the right-most hop that is not itself a trusted proxy: each proxy
 * appends the address it saw, and whatever the client wrote itself stands to the left of that.
 */
export function resolveClient(c: Context, trust: AddressList): Client {
  const socket = socketOf(c);
  // No socket: a request handed to the app in-process (tests), never one from the network.
  const socketIp = plainAddress(socket?.remoteAddress ?? '127.0.0.1');
  const tls = (socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  if (!trust.has(socketIp)) return { ip: socketIp, https: tls, socketIp };
  const hops = (c.req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((h) => plainAddress(h))
    .filter(Boolean);
  let ip = socketIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    // A hop that is not an address was not written by a proxy we trust: stop at what we know.
    if (isIP(hop) === 0) break;
    ip = hop;
    if (!trust.has(hop)) break;
  }
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return { ip, https: tls || proto === 'https', socketIp };
}

/** Middleware: resolves each request's client once, for clientOf. */
export function clientMiddleware(trust: () => AddressList): MiddlewareHandler {
  return async (c, next) => {
    clients.set(c.req.raw, resolveClient(c, trust()));
    await next();
  };
}

const NO_PROXIES = new AddressList([]);

/**
 * The client of a request (see resolveClient). Without the middleware (routes used on their own)
 * no forwarded header is believed.
 */
export function clientOf(c: Context): Client {
  return clients.get(c.req.raw) ?? resolveClient(c, NO_PROXIES);
}

