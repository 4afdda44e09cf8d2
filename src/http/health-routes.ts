/**
 * /livez: the process answers. /readyz: it can do its work — Temporal (the namespace answers),
 * PostgreSQL and the Docker engine each answer within a short deadline; 503 names what failed.
 * Both stay open for orchestrators' probes, so neither says why a dependency failed: error text
 * (addresses, socket paths, driver messages) goes to the log, not to whoever can reach the port.
 */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type Docker from 'dockerode';
import type { PrismaClient } from '../db/prisma.js';

/** A probe that hangs is a failed probe: orchestrators call this every few seconds. */
const CHECK_TIMEOUT_MS = 2000;

export interface HealthDeps {
  prisma: PrismaClient;
  temporal: Client;
  docker: Docker;
  log?: { warn?: (obj: unknown, msg: string) => void };
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim().slice(0, 300);

export function readinessChecks(deps: HealthDeps): Record<string, () => Promise<unknown>> {
  return {
    temporal: () =>
      deps.temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
        deps.temporal.workflowService.describeNamespace({ namespace: deps.temporal.options.namespace }),
      ),
    postgres: () => deps.prisma.$queryRaw`SELECT 1`,
    docker: () => deps.docker.ping(),
  };
}

export async function readiness(deps: HealthDeps) {
  const entries = await Promise.all(
    Object.entries(readinessChecks(deps)).map(async ([name, check]) => {
      const started = Date.now();
      try {
        await within(CHECK_TIMEOUT_MS, check());
        return [name, { ok: true, ms: Date.now() - started }] as const;
      } catch (err) {
        deps.log?.warn?.({ dependency: name, error: firstLine(err) }, 'readiness check failed');
        return [name, { ok: false, ms: Date.now() - started }] as const;
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  const failed = entries.filter(([, c]) => !c.ok).map(([name]) => name);
  return { ok: failed.length === 0, failed, checks };
}

export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  router.get('/livez', (_req, res) => void res.json({ ok: true }));
  router.get('/readyz', async (_req, res) => {
    const r = await readiness(deps);
    res.status(r.ok ? 200 : 503).json(r);
  });
  return router;
}
