/**
 * Costs from the ledger, grouped by day, model or project. Amounts stay exact decimal strings
 * (the ledger's Decimal column); sums are done by PostgreSQL.
 */
import { z } from 'zod';
import { PROJECT_KEY } from '../domain/fix/ids.js';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { isoInstant } from '../fixes/fix-queries.js';

export const costQuerySchema = z.object({
  by: z.enum(['day', 'model', 'project']).default('day'),
  since: isoInstant.optional(),
  project: z.string().regex(PROJECT_KEY).optional(),
});
export type CostQuery = z.infer<typeof costQuerySchema>;

export interface CostRow {
  group: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: string;
}

interface RawRow {
  grp: string;
  calls: bigint;
  input: bigint | null;
  output: bigint | null;
  cost: Prisma.Decimal | null;
}

export async function costReport(prisma: PrismaClient, q: CostQuery): Promise<{ by: CostQuery['by']; totalUsd: string; rows: CostRow[] }> {
  let projectId: string | undefined;
  if (q.project) {
    const p = await prisma.project.findUnique({ where: { key: q.project }, select: { id: true } });
    // An unknown project has no costs; say so with an empty report rather than everyone's.
    if (!p) return { by: q.by, totalUsd: '0', rows: [] };
    projectId = p.id;
  }
  const since = q.since ? new Date(q.since) : new Date(0);
  const group =
    q.by === 'day'
      ? Prisma.sql`to_char(date_trunc('day', l."createdAt"), 'YYYY-MM-DD')`
      : q.by === 'model'
        ? Prisma.sql`l."model"`
        : Prisma.sql`coalesce(p."key", l."projectId"::text)`;
  const projectFilter = projectId ? Prisma.sql`AND l."projectId" = ${projectId}::uuid` : Prisma.empty;
  const rows = await prisma.$queryRaw<RawRow[]>`
    SELECT ${group} AS grp, count(*) AS calls, sum(l."inputTokens") AS input, sum(l."outputTokens") AS output, sum(l."costUsd") AS cost
    FROM "LedgerEntry" l LEFT JOIN "Project" p ON p."id" = l."projectId"
    WHERE l."createdAt" >= ${since} AND l."kind" <> 'pending' ${projectFilter}
    GROUP BY 1 ORDER BY 1`;
  let total = new Prisma.Decimal(0);
  const out = rows.map((r) => {
    const cost = new Prisma.Decimal(r.cost ?? 0);
    total = total.add(cost);
    return { group: r.grp, calls: Number(r.calls), inputTokens: Number(r.input ?? 0), outputTokens: Number(r.output ?? 0), costUsd: cost.toString() };
  });
  return { by: q.by, totalUsd: total.toString(), rows: out };
}
