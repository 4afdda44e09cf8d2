/**
 * Numbers about fixes read from PostgreSQL (the ledger and the report rows), shared by /metrics
 * and the admin dashboard. Optional project key filters everything to one project.
 */
import { Prisma, type PrismaClient } from '../db/prisma.js';

export interface SpendRow {
  project: string;
  model: string;
  calls: number;
  costUsd: number;
}
export interface OutcomeRow {
  project: string;
  status: string;
  n: number;
}

const projectFilter = (alias: string, key?: string) => (key ? Prisma.sql`AND ${Prisma.raw(alias)}."key" = ${key}` : Prisma.empty);

export async function spendSince(prisma: PrismaClient, since: Date, projectKey?: string): Promise<SpendRow[]> {
  const rows = await prisma.$queryRaw<Array<{ project: string; model: string; calls: bigint; cost: Prisma.Decimal | null }>>`
    SELECT coalesce(p."key", l."projectId"::text) AS project, l."model" AS model, count(*) AS calls, sum(l."costUsd") AS cost
    FROM "LedgerEntry" l LEFT JOIN "Project" p ON p."id" = l."projectId"
    WHERE l."createdAt" >= ${since} AND l."kind" <> 'pending' ${projectFilter('p', projectKey)} GROUP BY 1, 2`;
  return rows.map((r) => ({ project: r.project, model: r.model, calls: Number(r.calls), costUsd: Number(r.cost ?? 0) }));
}

export async function outcomesSince(prisma: PrismaClient, since: Date, projectKey?: string): Promise<OutcomeRow[]> {
  const rows = await prisma.$queryRaw<Array<{ project: string; status: string; n: bigint }>>`
    SELECT p."key" AS project, b."status"::text AS status, count(*) AS n
    FROM "BugReport" b JOIN "Project" p ON p."id" = b."projectId"
    WHERE b."completedAt" >= ${since} ${projectFilter('p', projectKey)} GROUP BY 1, 2`;
  return rows.map((r) => ({ project: r.project, status: r.status, n: Number(r.n) }));
}

/** Report filed → PR opened, for fixes that opened one since `since`. */
export async function timeToPrSince(
  prisma: PrismaClient,
  since: Date,
  projectKey?: string,
): Promise<{ count: number; p50Ms: number | null; p95Ms: number | null }> {
  const [row] = await prisma.$queryRaw<Array<{ n: bigint; p50: number | null; p95: number | null }>>`
    SELECT count(*) AS n,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM b."completedAt" - b."createdAt")) * 1000 AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM b."completedAt" - b."createdAt")) * 1000 AS p95
    FROM "BugReport" b JOIN "Project" p ON p."id" = b."projectId"
    WHERE b."status" = 'PR_CREATED' AND b."completedAt" >= ${since} ${projectFilter('p', projectKey)}`;
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v)));
  return { count: Number(row?.n ?? 0), p50Ms: ms(row?.p50), p95Ms: ms(row?.p95) };
}
