import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { pgPoolConfig } from './pg-config.js';

export type { PrismaClient } from '../generated/prisma/client.js';
export { Prisma } from '../generated/prisma/client.js';
export type { BugPriority } from '../generated/prisma/enums.js';

/** The pg pool under each client createPrisma built: the intake's hot statements run on it (src/db/sql.ts). */
const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * One pg pool per client, built here and handed to Prisma's adapter, so that the hot path's own
 * statements (src/db/sql.ts) and Prisma's queries share its connections and its limit.
 */
export function createPrisma(databaseUrl: string): PrismaClient {
  const pool = new pg.Pool({ ...pgPoolConfig(databaseUrl), max: 10 });
  // An idle connection the server dropped (restart, chaos) is removed by the pool; without a
  // listener its 'error' event would end the process before Prisma's adapter attaches its own.
  pool.on('error', () => undefined);
  // $disconnect ends the pool, as it ended the adapter's own before.
  const client = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(client, pool);
  return client;
}

/** The client's pg pool while it is open; undefined for a client built elsewhere or disconnected. */
export function sharedPool(prisma: PrismaClient): pg.Pool | undefined {
  const pool = pools.get(prisma);
  return pool && !pool.ending ? pool : undefined;
}
