/**
 * A token bucket per key kept in PostgreSQL (RateLimitBucket), so the limit holds across every
 * API process sharing the database: N processes allow the rate once, not N times. One statement
 * takes a token: the upsert locks the key's row, so two processes racing for the last token
 * cannot both get it. Buckets that are full again say nothing a missing row would not; they are
 * deleted now and then, so senders that came once do not make the table grow.
 */
import type { PrismaClient } from '../db/prisma.js';
import { hotQuery, hotStatement } from '../db/sql.js';
import type { RateLimitSettings } from './rate-limit.js';

export type RateVerdict = { ok: true } | { ok: false; retryAfterS: number };

/** What the intake routes need: a token for a key, or how long until there is one. */
export interface KeyRateLimiter {
  take(key: string): Promise<RateVerdict>;
}

/**
 * One token for key $1 of a bucket of $2 tokens refilled at $3 per second: a prepared statement,
 * since every intake request runs it (src/db/sql.ts).
 */
const TAKE_TOKEN = hotStatement(
  'rate_limit_take',
  `WITH taken AS (
     INSERT INTO "RateLimitBucket" AS b ("key", "tokens", "at", "fullAt")
     VALUES ($1, $2::float8 - 1, clock_timestamp(), clock_timestamp() + make_interval(secs => 1 / $3::float8))
     ON CONFLICT ("key") DO UPDATE SET
       "tokens" = LEAST($2::float8, b."tokens" + EXTRACT(EPOCH FROM GREATEST(clock_timestamp() - b."at", interval '0')) * $3::float8) - 1,
       "at" = GREATEST(b."at", clock_timestamp()),
       "fullAt" = GREATEST(b."at", clock_timestamp()) + make_interval(secs => ($2::float8 + 1 - LEAST($2::float8,
                    b."tokens" + EXTRACT(EPOCH FROM GREATEST(clock_timestamp() - b."at", interval '0')) * $3::float8)) / $3::float8)
     WHERE LEAST($2::float8, b."tokens" + EXTRACT(EPOCH FROM GREATEST(clock_timestamp() - b."at", interval '0')) * $3::float8) >= 1
     RETURNING b."tokens"
   )
   SELECT true AS ok, "tokens" FROM taken
   UNION ALL
   SELECT false AS ok, LEAST($2::float8, "tokens" + EXTRACT(EPOCH FROM GREATEST(clock_timestamp() - "at", interval '0')) * $3::float8) AS "tokens"
     FROM "RateLimitBucket" WHERE "key" = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
);

/** How often one process deletes buckets that are full again. */
const SWEEP_EVERY_MS = 60_000;

export class SharedRateLimiter implements KeyRateLimiter {
  private lastSweep = 0;

  /** `scope` names the limit (intake key, email sender): buckets of different limits never mix. */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly scope: string,
    private readonly settings: RateLimitSettings,
  ) {}

  async take(key: string): Promise<RateVerdict> {
    this.sweepNowAndThen();
    const id = `${this.scope}:${key}`;
    const { perSecond, burst } = this.settings;
    // clock_timestamp(), not now(): a statement that waited for the row's lock refills up to the
    // moment it got it, and GREATEST keeps `at` from going back when clocks of racers interleave.
    // Refused, the row is left as it was and the second SELECT reads the tokens for Retry-After.
    const [row] = await hotQuery<{ ok: boolean; tokens: number }>(this.prisma, TAKE_TOKEN, [id, burst, perSecond]);
    if (row?.ok) return { ok: true };
    // No row seen: another process created the bucket in this very instant (and took its tokens).
    const tokens = row ? Math.min(0.999, row.tokens) : 0;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
  }

  private sweepNowAndThen(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    // Every limit's full buckets, not only this scope's: any process keeps the table small.
    // A failed sweep is harmless: the rows wait for the next one.
    void this.prisma.$executeRaw`DELETE FROM "RateLimitBucket" WHERE "fullAt" < now()`.catch(() => undefined);
  }
}
