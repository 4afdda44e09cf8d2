/**
 * Token bucket in memory: each process enforces its own. Paces one process's own work (the fix
 * dispatcher's starts); limits on clients are shared by every API process (shared-rate-limit.ts).
 */
export interface RateLimitSettings {
  perSecond: number;
  burst: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly settings: RateLimitSettings) {}

  /** Takes one token; when none is left, how many seconds until one is. */
  take(key: string, nowMs = Date.now()): { ok: true } | { ok: false; retryAfterS: number } {
    const { perSecond, burst } = this.settings;
    const b = this.buckets.get(key) ?? { tokens: burst, at: nowMs };
    b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * perSecond);
    b.at = nowMs;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / perSecond)) };
  }
}
