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
    ...sslFrom(url.searchParams.get('sslmode')),
  };
}

/**
 * libpq's `?sslmode=` (a managed PostgreSQL asks for TLS): `require` encrypts without checking the
 * server's certificate, `verify-ca` and `verify-full` check it against the system's CAs (and
 * NODE_EXTRA_CA_CERTS). Without it, or `disable`/`prefer`/`allow`, plain TCP, as before.
 */
function sslFrom(mode: string | null): Pick<PoolConfig, 'ssl'> {
  if (mode === 'require') return { ssl: { rejectUnauthorized: false } };
  if (mode === 'verify-ca' || mode === 'verify-full') return { ssl: { rejectUnauthorized: true } };
  if (mode === null || mode === 'disable' || mode === 'prefer' || mode === 'allow') return {};
  throw new Error(`DATABASE_URL: sslmode=${mode} is not one of disable, allow, prefer, require, verify-ca, verify-full`);
}
