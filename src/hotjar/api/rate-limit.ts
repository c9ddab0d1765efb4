/**
 * The request-rate cap of API-key mode: a token bucket shared by every call to Hotjar's official API
 * (token requests, retries included). Public clients cite a limit of 3,000 requests a minute per source
 * IP ([clients], not confirmed in Hotjar's readable docs); the default here, 10 a second (600 a minute,
 * a burst of 10), stays far below it, and a single sync never needs more: a page holds 100 responses.
 */
import { sleep } from '../http.js';

export const DEFAULT_REQUESTS_PER_SECOND = 10;

export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly perSecond: number = DEFAULT_REQUESTS_PER_SECOND,
    readonly burst: number = perSecond,
    private readonly now: () => number = () => performance.now(),
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void> = sleep,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when a request may go out (at once while the bucket holds a token). */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.wait(((1 - this.tokens) / this.perSecond) * 1000, signal);
      if (signal?.aborted) return;
    }
  }
}
