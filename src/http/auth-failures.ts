/**
 * Brute-force guard for every bearer-token check (intake keys, admin tokens, the codec sign-in,
 * the /metrics token, the inbound-mail token): failed authentications (answers 401) are counted
 * per client address (req.ip, so HTTP_TRUST_PROXY decides whose X-Forwarded-For is believed) in a
 * fixed window. Past the limit the client gets 429 with Retry-After before its token is even
 * looked at. Successful requests do not count and reset nobody's count. In memory per process
 * (express-rate-limit's MemoryStore): behind several API processes each keeps its own count.
 */
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';

export interface AuthFailureSettings {
  /** failed authentications a client address may make per window */
  limit: number;
  windowSeconds: number;
}

export function authFailureLimiter(settings: AuthFailureSettings): RequestHandler {
  return rateLimit({
    windowMs: settings.windowSeconds * 1000,
    limit: settings.limit,
    // Every request is counted as it arrives and uncounted when its answer is not a 401, so a
    // burst of concurrent guesses cannot slip past the limit while they are in flight.
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // Whose address req.ip is, is HTTP_TRUST_PROXY's decision (documented), not a misconfiguration.
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: (_req, res, _next, options) => {
      const retryAfterSeconds = Number(res.getHeader('retry-after')) || settings.windowSeconds;
      res.status(options.statusCode).json({
        error: `too many failed authentications from this address (${settings.limit} in ${settings.windowSeconds} s); retry in ${retryAfterSeconds} s`,
        details: { retryAfterSeconds },
      });
    },
  });
}
