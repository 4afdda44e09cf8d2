/**
 * Claims on outbox rows (stored reports, inbound messages, GitHub deliveries not yet handed to
 * Temporal), so that of several API processes exactly one starts each row. A claim is a lease:
 * `claimedUntil` in the row. The process that stores a row claims it in the same INSERT; a poll
 * claims rows whose lease is over with one UPDATE … FOR UPDATE SKIP LOCKED; anyone else takes a
 * row only by a conditional UPDATE that fails when another process holds it. A process that dies
 * leaves its claims to expire; a start that failed gives its claim back so the next poll retries.
 */
import { Prisma, type PrismaClient } from '../db/prisma.js';

export type OutboxTable = 'BugReport' | 'InboundMessage' | 'GitHubDelivery';

/**
 * How long a claim lasts: far longer than a start takes (its deadline is 10 s by default). An
 * INSERT takes it as now() + CLAIM_MS, by the database's clock as every other claim.
 */
export const CLAIM_MS = 60_000;
/** A start begins only with this much of its claim left beyond its deadline (clock skew, recording it). */
const CLAIM_SLACK_MS = 5_000;

/** Not started yet, per table: the rows an outbox still has to hand over. */
const UNSTARTED: Record<OutboxTable, Prisma.Sql> = {
  BugReport: Prisma.sql`"workflowStartedAt" IS NULL`,
  InboundMessage: Prisma.sql`"workflowStartedAt" IS NULL`,
  GitHubDelivery: Prisma.sql`"outcome" = 'pending'`,
};

const table = (t: OutboxTable) => Prisma.raw(`"${t}"`);

/** Whether a claim this process holds still covers a start that may take `deadlineMs`. */
export function holds(claim: Date | null | undefined, deadlineMs: number, nowMs = Date.now()): claim is Date {
  return !!claim && claim.getTime() - nowMs > deadlineMs + CLAIM_SLACK_MS;
}

/**
 * Claims (or renews) one row for this process: succeeds when nobody holds it or `mine` (the
 * lease this process wrote) is still the row's. The new lease, or null: someone else holds it, or
 * it is started already.
 */
export async function claimRow(prisma: PrismaClient, t: OutboxTable, id: string, mine: Date | null): Promise<Date | null> {
  const rows = await prisma.$queryRaw<Array<{ claimedUntil: Date }>>`
    UPDATE ${table(t)} SET "claimedUntil" = now() + ${CLAIM_MS}::int * interval '1 millisecond'
    WHERE "id"::text = ${id} AND ${UNSTARTED[t]}
      AND ("claimedUntil" IS NULL OR "claimedUntil" < now() OR "claimedUntil" = ${mine}::timestamptz)
    RETURNING "claimedUntil"`;
  return rows[0]?.claimedUntil ?? null;
}

/** Gives a claim back (its start failed): the next poll of any process may take the row. */
export async function releaseClaim(prisma: PrismaClient, t: OutboxTable, id: string, mine: Date): Promise<void> {
  await prisma.$executeRaw`UPDATE ${table(t)} SET "claimedUntil" = NULL WHERE "id"::text = ${id} AND "claimedUntil" = ${mine}::timestamptz`;
}

/**
 * Claims up to `limit` rows for a poll, oldest first: unstarted, stored more than `graceMs` ago
 * (`agedBy` column), unclaimed or with an expired lease. Rows another poll is claiming right now
 * are skipped, not waited for. The claimed ids with their leases.
 */
export async function claimBatch(
  prisma: PrismaClient,
  t: OutboxTable,
  opts: { where: Prisma.Sql; agedBy: 'createdAt' | 'updatedAt' | 'receivedAt'; graceMs: number; limit: number },
): Promise<Array<{ id: string; claimedUntil: Date }>> {
  const aged = Prisma.raw(`"${opts.agedBy}"`);
  return prisma.$queryRaw<Array<{ id: string; claimedUntil: Date }>>`
    UPDATE ${table(t)} SET "claimedUntil" = now() + ${CLAIM_MS}::int * interval '1 millisecond'
    WHERE "id" IN (
      SELECT "id" FROM ${table(t)}
      WHERE ${opts.where} AND ${UNSTARTED[t]} AND ${aged} < now() - ${opts.graceMs}::int * interval '1 millisecond'
        AND ("claimedUntil" IS NULL OR "claimedUntil" < now())
      ORDER BY ${aged} LIMIT ${opts.limit}::int
      FOR UPDATE SKIP LOCKED)
    RETURNING "id"::text AS "id", "claimedUntil"`;
}
