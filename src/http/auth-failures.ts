/**
 * Brute-force guard for every bearer-token check (intake keys, admin tokens, the codec sign-in,
 * the /metrics token, the inbound-mail token, webhook signatures): failed authentications
 * (answers 401) are counted per client address (req.ip, so HTTP_TRUST_PROXY decides whose
 * X-Forwarded-For is believed) in a fixed window (express-rate-limit's MemoryStore). Past the limit
 * the client gets 429 with Retry-After before its token is even looked at. Successful requests
 * never count and reset nobody's count. In memory per process: behind several API processes each
 * keeps its own count.
 *
 * A request is counted when its 401 is sent, not when it arrives: counting on arrival (and taking
 * it back on success) made a burst of valid requests in flight — GitHub delivering 60 webhooks a
 * second from one address — look like failures, and answered them 429. The price: guesses already
 * in flight when the limit is reached are still answered, once; every later one is refused.
 */
import type { RequestHandler } from 'express';
import { MemoryStore } from 'express-rate-limit';

export interface AuthFailureSettings {
  /** failed authentications a client address may make per window */
  limit: number;
  windowSeconds: number;
}

export function authFailureLimiter(settings: AuthFailureSettings): RequestHandler {
  const store = new MemoryStore();
  store.init({ windowMs: settings.windowSeconds * 1000 } as Parameters<MemoryStore['init']>[0]);
  return (req, res, next) => {
    const key = req.ip ?? 'unknown';
    void store.get(key).then((seen) => {
      if (seen && seen.totalHits >= settings.limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil(((seen.resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
        res.setHeader('retry-after', String(retryAfterSeconds));
        res.status(429).json({
          error: `too many failed authentications from this address (${settings.limit} in ${settings.windowSeconds} s); retry in ${retryAfterSeconds} s`,
          details: { retryAfterSeconds },
        });
        return;
      }
      res.on('finish', () => {
        if (res.statusCode === 401) void store.increment(key);
      });
      next();
    }, next);
  };
}
