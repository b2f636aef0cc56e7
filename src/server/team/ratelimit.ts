/**
 * Failed sign-ins per key (an account name, a client address) in a sliding window: past `max` failures the key is
 * refused until the oldest failure leaves the window. In memory: a restart forgets it, which costs an attacker a
 * restart per window, and the scrypt cost per guess remains.
 */
export interface RateLimitOptions {
  max: number;
  windowMs: number;
  /** Keys kept at most (oldest dropped), so a flood of invented names cannot use up memory. */
  maxKeys?: number;
}

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private live(key: string): number[] {
    const cutoff = this.now() - this.opts.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const list = this.live(key);
    if (list.length < this.opts.max) return 0;
    return Math.max(1, list[list.length - this.opts.max] + this.opts.windowMs - this.now());
  }

  fail(key: string): void {
    const list = this.live(key);
    list.push(this.now());
    this.failures.delete(key);
    this.failures.set(key, list);
    const maxKeys = this.opts.maxKeys ?? 10_000;
    while (this.failures.size > maxKeys) this.failures.delete(this.failures.keys().next().value as string);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }
}
