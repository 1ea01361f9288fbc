/**
 * Requests per client per minute, in memory (one process: a restart forgets, which only lets a
 * client start over; with several instances each counts its own). The public routes use it: the
 * join page's views (src/flows/join), the shops' callbacks (src/flows/orders/shop.ts). A client
 * over the limit gets a 429 and nothing is recorded.
 */
export class PerMinuteLimiter {
  private readonly seen = new Map<string, { start: number; n: number }>();

  /** Whether `client` may have another view at `now` (counts it when so). */
  allow(client: string, perMinute: number, now: number): boolean {
    const w = this.seen.get(client);
    if (!w || now - w.start >= 60_000) {
      // Old windows are dropped in one sweep when the map grows: memory stays bounded under a flood of addresses.
      if (this.seen.size >= 50_000) for (const [k, v] of this.seen) if (now - v.start >= 60_000) this.seen.delete(k);
      if (this.seen.size >= 50_000) return false;
      this.seen.set(client, { start: now, n: 1 });
      return true;
    }
    if (w.n >= perMinute) return false;
    w.n++;
    return true;
  }
}
