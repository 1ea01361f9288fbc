import { BlockList, isIP } from 'node:net';

/**
 * Named address ranges a `trust_proxy` list may use instead of writing the CIDRs out: `loopback`
 * (a proxy on the same machine) and `private` (a proxy on a private network, e.g. the Docker
 * network of deploy/docker-compose.yml, whose addresses are handed out at run time).
 */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Why an entry of an address list is not one (undefined: it is). */
export function addressSpecProblem(spec: string): string | undefined {
  const s = spec.trim();
  if (NAMED[s]) return undefined;
  const [addr, bits, ...rest] = s.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || rest.length > 0) return `"${spec}" is not an IP address, a CIDR such as 10.0.0.0/8, "loopback" or "private"`;
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${spec}": the prefix length must be 0-${max}`;
  return undefined;
}

/** The address as a client's socket or a forwarded header gives it, without the IPv4-in-IPv6 prefix. */
export function plainAddress(address: string): string {
  const a = address.trim();
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}

/**
 * A set of addresses and ranges, e.g. the proxies whose X-Forwarded-* headers are believed.
 * Entries must pass addressSpecProblem (the config schema and the environment check do that).
 *
 * @example new AddressList(['127.0.0.1', '10.0.0.0/8']).has('10.1.2.3') // true
 */
export class AddressList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(specs: readonly string[]) {
    const expanded = specs.flatMap((s) => NAMED[s.trim()] ?? [s.trim()]);
    for (const spec of expanded) {
      const problem = addressSpecProblem(spec);
      if (problem) throw new Error(problem);
      const [addr, bits] = spec.split('/') as [string, string | undefined];
      const type = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(bits), type);
    }
    this.size = expanded.length;
  }

  has(address: string | undefined): boolean {
    if (!address || this.size === 0) return false;
    const a = plainAddress(address);
    const family = isIP(a);
    return family !== 0 && this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * Why an entry of `allowed_hosts` is not a host name as a Host header carries it without its port
 * (undefined: it is): a DNS name, an IPv4 address or a bracketed IPv6 address.
 */
export function hostNameProblem(name: string): string | undefined {
  const h = name.trim().toLowerCase();
  if (/^\[[0-9a-f:.]+\]$/.test(h) && isIP(h.slice(1, -1)) === 6) return undefined;
  if (isIP(h) === 4) return undefined;
  if (h.length <= 253 && /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/.test(h)) return undefined;
  return `"${name}" is not a host name (write it as in the address bar, without http:// or a port: kequn.example.com)`;
}
