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
 * The bucket math over SQL expressions (parameters or columns): `id` the bucket's key, `burst`
 * its size, `rate` its refill per second; `from` (a FROM clause) makes the insert one of a select.
 * `take` is an INSERT … ON CONFLICT DO UPDATE that takes a token and returns the tokens left, or
 * no row when none is there; `tokens(alias)` reads what a bucket row holds now (for Retry-After).
 * Shared by the limiter's statement and the intake's gate (src/intake/intake-gate.ts), so both
 * count alike.
 */
export function tokenBucketSql(id: string, burst: string, rate: string, from?: string) {
  // clock_timestamp(), not now(): a statement that waited for the row's lock refills up to the
  // moment it got it, and GREATEST keeps `at` from going back when clocks of racers interleave.
  const tokens = (b: string) => `LEAST(${burst}, ${b}."tokens" + EXTRACT(EPOCH FROM GREATEST(clock_timestamp() - ${b}."at", interval '0')) * ${rate})`;
  const fresh = `${id}, ${burst} - 1, clock_timestamp(), clock_timestamp() + make_interval(secs => 1 / ${rate})`;
  return {
    take: `INSERT INTO "RateLimitBucket" AS b ("key", "tokens", "at", "fullAt")
      ${from ? `SELECT ${fresh} FROM ${from}` : `VALUES (${fresh})`}
      ON CONFLICT ("key") DO UPDATE SET
        "tokens" = ${tokens('b')} - 1,
        "at" = GREATEST(b."at", clock_timestamp()),
        "fullAt" = GREATEST(b."at", clock_timestamp()) + make_interval(secs => (${burst} + 1 - ${tokens('b')}) / ${rate})
      WHERE ${tokens('b')} >= 1
      RETURNING b."tokens"`,
    tokens,
  };
}

const bucket = tokenBucketSql('$1', '$2::float8', '$3::float8');
/**
 * One token for key $1 of a bucket of $2 tokens refilled at $3 per second: a prepared statement,
 * since every intake request runs it (src/db/sql.ts). Refused, the row is left as it was and the
 * second SELECT reads its tokens for Retry-After.
 */
const TAKE_TOKEN = hotStatement(
  'rate_limit_take',
  `WITH taken AS (${bucket.take})
   SELECT true AS ok, "tokens" FROM taken
   UNION ALL
   SELECT false AS ok, ${bucket.tokens('r')} AS "tokens" FROM "RateLimitBucket" r WHERE r."key" = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
);

/** How often one process deletes buckets that are full again. */
const SWEEP_EVERY_MS = 60_000;

/** A bucket's answer: a token was taken, or the tokens it holds (none seen: another process just created it). */
export function verdict(row: { ok: boolean; tokens: number | null } | undefined, perSecond: number): RateVerdict {
  if (row?.ok) return { ok: true };
  const tokens = row?.tokens != null ? Math.min(0.999, row.tokens) : 0;
  return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
}

export class SharedRateLimiter implements KeyRateLimiter {
  private lastSweep = 0;

  /** `scope` names the limit (intake key, email sender): buckets of different limits never mix. */
  constructor(
    readonly prisma: PrismaClient,
    readonly scope: string,
    readonly settings: RateLimitSettings,
  ) {}

  async take(key: string): Promise<RateVerdict> {
    this.sweepNowAndThen();
    const id = `${this.scope}:${key}`;
    const { perSecond, burst } = this.settings;
    const [row] = await hotQuery<{ ok: boolean; tokens: number }>(this.prisma, TAKE_TOKEN, [id, burst, perSecond]);
    return verdict(row, perSecond);
  }

  /** Deletes full buckets once a minute (every take calls it; so does the intake's gate). */
  sweepNowAndThen(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    // Every limit's full buckets, not only this scope's: any process keeps the table small.
    // A failed sweep is harmless: the rows wait for the next one.
    void this.prisma.$executeRaw`DELETE FROM "RateLimitBucket" WHERE "fullAt" < now()`.catch(() => undefined);
  }
}
