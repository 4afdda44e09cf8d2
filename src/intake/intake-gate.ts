/**
 * What every bearer-key intake request reads before it stores anything, in one round trip: the
 * key and its project, a token from the key's shared bucket (src/intake/shared-rate-limit.ts;
 * taken only for a live key) and, when asked, the deployment's stored kill switches (admission,
 * src/safety/kill-switch-client.ts). As three statements each cost the API process a socket
 * write and PostgreSQL a statement of its own, per request (bench/intake.ts, issue #17). Nothing
 * is cached: a revoked key or a pressed switch counts from the next request on.
 */
import type { PrismaClient } from '../db/prisma.js';
import { hotQuery, hotStatement } from '../db/sql.js';
import type { KillSwitch } from '../domain/organisation/kill-switch.js';
import { tokenBucketSql, verdict, type RateVerdict, type SharedRateLimiter } from './shared-rate-limit.js';

export interface GatePass {
  key: { id: string; revokedAt: Date | null; project: { id: string; key: string } };
  /** the token (a revoked key takes none and is refused) */
  limited: RateVerdict;
  /** stored switches of the task queue asked for (none asked: empty) */
  switches: KillSwitch[];
}

// $1 key hash, $2 bucket scope with its colon, $3 burst, $4 rate per second, $5 task queue or null.
const bucket = tokenBucketSql(`$2::text || k."id"::text`, '$3::float8', '$4::float8', `k WHERE k."revokedAt" IS NULL`);
const GATE = hotStatement(
  'intake_gate',
  `WITH k AS (
     SELECT k."id", k."revokedAt", p."id" AS "projectId", p."key" AS "projectKey"
     FROM "IntakeKey" k JOIN "Project" p ON p."id" = k."projectId"
     WHERE k."keyHash" = $1
   ), taken AS (${bucket.take})
   SELECT k."id", k."revokedAt", k."projectId", k."projectKey",
     EXISTS (SELECT 1 FROM taken) AS "ok",
     COALESCE((SELECT "tokens" FROM taken), (SELECT ${bucket.tokens('r')} FROM "RateLimitBucket" r WHERE r."key" = $2::text || k."id"::text)) AS "tokens",
     (SELECT COALESCE(json_agg(json_build_object('scope', s."scope", 'reason', s."reason", 'actor', s."actor",
                                                 'activatedAt', s."activatedAt" AT TIME ZONE 'UTC') ORDER BY s."activatedAt"), '[]'::json)
        FROM "ActiveKillSwitch" s WHERE s."taskQueue" = $5) AS "switches"
   FROM k`,
);

interface GateRow {
  id: string;
  revokedAt: Date | null;
  projectId: string;
  projectKey: string;
  ok: boolean;
  tokens: number | null;
  switches: Array<Omit<KillSwitch, 'activatedAt'> & { activatedAt: string }>;
}

/** The key of this hash with its token and switches; undefined: no such key. */
export async function passIntakeGate(
  prisma: PrismaClient,
  keyHash: string,
  limiter: SharedRateLimiter,
  switchesOf: string | null,
): Promise<GatePass | undefined> {
  limiter.sweepNowAndThen();
  const { burst, perSecond } = limiter.settings;
  const [row] = await hotQuery<GateRow>(prisma, GATE, [keyHash, `${limiter.scope}:`, burst, perSecond, switchesOf]);
  if (!row) return undefined;
  return {
    key: { id: row.id, revokedAt: row.revokedAt, project: { id: row.projectId, key: row.projectKey } },
    limited: verdict(row, perSecond),
    // json renders a timestamptz with its offset: normalised to the ISO form the table's readers give.
    switches: row.switches.map((s) => ({ ...s, activatedAt: new Date(s.activatedAt).toISOString() })),
  };
}
