/** The numbers the alert rules judge, read from the report rows and the ledger in one query. */
import type { PrismaClient } from '../db/prisma.js';
import type { AlertMetrics, AlertRuleSettings } from '../domain/organisation/alert-rules.js';

const MIN_MS = 60_000;
const utcText = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

export async function readRuleMetrics(prisma: PrismaClient, s: AlertRuleSettings, now: Date): Promise<Required<AlertMetrics>> {
  const failureSince = utcText(new Date(now.getTime() - s.failureWindowMinutes * MIN_MS));
  const queuedBefore = utcText(new Date(now.getTime() - s.queueBackupMinutes * MIN_MS));
  const tokensSince = utcText(new Date(now.getTime() - s.tokensWindowMinutes * MIN_MS));
  const day = new Date(now);
  day.setUTCHours(0, 0, 0, 0);
  const [r] = await prisma.$queryRaw<Array<{ failed: bigint; finished: bigint; queued: bigint; fixes: bigint; tokens: bigint | null; spent: unknown }>>`
    SELECT
      (SELECT count(*) FROM "BugReport" WHERE "status" = 'FAILED' AND "completedAt" >= ${failureSince}::timestamp(3)) AS "failed",
      (SELECT count(*) FROM "BugReport" WHERE "status" IN ('FAILED', 'PR_CREATED') AND "completedAt" >= ${failureSince}::timestamp(3)) AS "finished",
      (SELECT count(*) FROM "BugReport" WHERE "status" = 'QUEUED' AND "createdAt" < ${queuedBefore}::timestamp(3)) AS "queued",
      (SELECT count(*) FROM "BugReport" WHERE "tokensUsed" IS NOT NULL AND "completedAt" >= ${tokensSince}::timestamp(3)) AS "fixes",
      (SELECT sum("tokensUsed") FROM "BugReport" WHERE "tokensUsed" IS NOT NULL AND "completedAt" >= ${tokensSince}::timestamp(3)) AS "tokens",
      (SELECT sum("costUsd") FROM "LedgerEntry" WHERE "createdAt" >= ${utcText(day)}::timestamp(3)) AS "spent"`;
  return {
    finished: { failed: Number(r!.failed), total: Number(r!.finished) },
    queuedTooLong: Number(r!.queued),
    tokens: { fixes: Number(r!.fixes), tokens: Number(r!.tokens ?? 0) },
    spendTodayUsd: Number(r!.spent ?? 0),
  };
}

/** Spend events need only today's spend, and whether its alert is already active (then nothing is written). */
export async function readSpendToday(prisma: PrismaClient, now: Date, activeKey: string): Promise<{ spentUsd: number; active: boolean }> {
  const day = new Date(now);
  day.setUTCHours(0, 0, 0, 0);
  const [r] = await prisma.$queryRaw<Array<{ spent: unknown; active: boolean }>>`
    SELECT (SELECT sum("costUsd") FROM "LedgerEntry" WHERE "createdAt" >= ${utcText(day)}::timestamp(3)) AS "spent",
      EXISTS (SELECT 1 FROM "Alert" WHERE "activeKey" = ${activeKey}) AS "active"`;
  return { spentUsd: Number(r!.spent ?? 0), active: r!.active };
}
