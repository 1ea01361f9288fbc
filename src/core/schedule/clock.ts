/**
 * The one source of "now" for the engine, scheduler and outbox. Production uses the system
 * clock; `kequn test` uses a virtual clock that only moves when a scenario says `wait`; the
 * playground uses an offset clock so the operator can fast-forward a day.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class VirtualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    if (t < this.t) throw new Error('the virtual clock never goes backwards');
    this.t = t;
  }
}

/** System time plus an adjustable offset (playground fast-forward). */
export class OffsetClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
  get offsetMs(): number {
    return this.offset;
  }
}
