/**
 * The intake's hot path in plain pg: each request of POST /api/bugs runs a few fixed statements
 * (key lookup, token bucket, kill switches, the insert) and the dispatcher one batched update.
 * Through Prisma's raw queries each costs the API process several times the CPU of the statement
 * itself (bench/intake.ts, issue #17); here they are named prepared statements on the same pool
 * Prisma uses (src/db/prisma.ts): parsed and planned once per connection, sent as bind + execute.
 * Values are always parameters, never interpolated.
 *
 * A named statement lives in its connection, so a pooler in transaction mode must track them
 * (pgbouncer ≥ 1.21 max_prepared_statements) or run in session mode (README "Deployment").
 */
import pg from 'pg';
import type { PrismaClient } from './prisma.js';
import { sharedPool } from './prisma.js';

export interface HotStatement {
  /** unique per text: PostgreSQL keeps one plan per name and connection */
  name: string;
  text: string;
}

/** Defines a statement once, at module load, so its name and text never drift apart. */
export const hotStatement = (name: string, text: string): HotStatement => ({ name: `hot_${name}`, text });

/**
 * Runs a hot statement and returns its rows. A client without its own pool (built elsewhere, or
 * after $disconnect) runs the same text through Prisma; its errors are then Prisma's, whose meta
 * carries the SQLSTATE (see isViolation in src/intake/file-bug.ts).
 */
export async function hotQuery<R extends object>(prisma: PrismaClient, stmt: HotStatement, values: readonly unknown[]): Promise<R[]> {
  const pool = sharedPool(prisma);
  if (!pool) return prisma.$queryRawUnsafe<R[]>(stmt.text, ...values);
  const result = await pool.query<R>({ name: stmt.name, text: stmt.text, values: [...values] });
  return result.rows;
}

/** The SQLSTATE of a failed hot statement (pg's error), else undefined. */
export function sqlState(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}
