import type { PoolConfig } from 'pg';

/**
 * Separate fields rather than `connectionString`: Prisma's adapter lets a connection string
 * override the shadow database name during migrations.
 */
export function pgPoolConfig(databaseUrl: string): PoolConfig {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, ''),
    // ?application_name=… names this process's connections in pg_stat_activity (ops, and the
    // chaos driver, which drops the worker's connections by it).
    application_name: url.searchParams.get('application_name') ?? undefined,
  };
}
