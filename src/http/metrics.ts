/**
 * /metrics in Prometheus format. Nothing is counted in this process (a restart or a second
 * server would make in-memory counters lie): every gauge is read at scrape time from where the
 * truth lives — Temporal visibility for workflows, PostgreSQL for outcomes and spend, the safety
 * controller for kill switches — plus prom-client's default process metrics. A source that cannot
 * be read leaves its gauges empty and sets bugfix_metrics_source_up{source} to 0.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { PrismaClient } from '../db/prisma.js';
import { outcomesSince, spendSince } from '../monitoring/fix-stats.js';
import { readSafetyState } from '../safety/kill-switch-client.js';
import { taskQueues } from '../../temporal.config.js';
import { authenticateAdmin } from './admin/admin-tokens.js';
import { HttpError } from './error-handler.js';

const FIXES = `WorkflowType = 'bugFixWorkflow'`;
const DAY_MS = 24 * 3600_000;
/** A scrape must answer within Prometheus' default 10 s timeout even when a source hangs. */
const SOURCE_DEADLINE_MS = 3000;

export interface MetricsDeps {
  prisma: PrismaClient;
  temporal: Client;
}

export function createMetrics(deps: MetricsDeps) {
  // Per app, not the global registry: several apps (tests) live in one process.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bugfix_' });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

  const g = {
    up: gauge('bugfix_metrics_source_up', 'Whether the source could be read for this scrape (1) or not (0)', ['source']),
    running: gauge('bugfix_fixes_running', 'Fix workflows running now (Temporal visibility)'),
    workflows: gauge('bugfix_fix_workflows', 'Fix workflows by Temporal execution status, within the namespace retention', ['status']),
    started24h: gauge('bugfix_fixes_started_24h', 'Fix workflows started in the last 24 hours (Temporal visibility)'),
    finished24h: gauge('bugfix_fixes_finished_24h', 'Fixes that ended in the last 24 hours by outcome and project (bug reports)', ['outcome', 'project']),
    spendToday: gauge('bugfix_spend_today_usd', 'Model spend since 00:00 UTC by project and model (cost ledger)', ['project', 'model']),
    callsToday: gauge('bugfix_model_calls_today', 'Model calls since 00:00 UTC by project and model (cost ledger)', ['project', 'model']),
    killSwitches: gauge('bugfix_kill_switches_active', 'Active kill switches by scope (safety controller)', ['scope']),
  };

  const count = (query: string) => deps.temporal.withDeadline(Date.now() + SOURCE_DEADLINE_MS, () => deps.temporal.workflow.count(query));
  const fromTemporal = async () => {
    const since = new Date(Date.now() - DAY_MS).toISOString();
    const [running, byStatus, started] = await Promise.all([
      count(`${FIXES} AND ExecutionStatus = 'Running'`),
      count(`${FIXES} GROUP BY ExecutionStatus`),
      count(`${FIXES} AND StartTime >= '${since}'`),
    ]);
    g.running.set(running.count);
    for (const group of byStatus.groups) g.workflows.set({ status: String(group.groupValues[0]) }, group.count);
    g.started24h.set(started.count);
  };

  const fromLedger = async () => {
    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    const [spend, outcomes] = await Promise.all([spendSince(deps.prisma, today), outcomesSince(deps.prisma, new Date(Date.now() - DAY_MS))]);
    for (const r of spend) {
      g.spendToday.set({ project: r.project, model: r.model }, r.costUsd);
      g.callsToday.set({ project: r.project, model: r.model }, r.calls);
    }
    for (const r of outcomes) g.finished24h.set({ outcome: r.status.toLowerCase(), project: r.project }, r.n);
  };

  const fromController = async () => {
    const state = await deps.temporal.withDeadline(Date.now() + SOURCE_DEADLINE_MS, () => readSafetyState(deps, taskQueues.main));
    for (const s of state.switches) g.killSwitches.set({ scope: s.scope }, 1);
  };

  const refresh = async () => {
    // Label sets that no longer exist (a project with no spend today) must disappear, not linger;
    // gauges without labels cannot disappear, so they read NaN (unknown) until their source answers.
    for (const m of Object.values(g)) m.reset();
    for (const m of [g.running, g.started24h]) m.set(NaN);
    const sources = { temporal: fromTemporal, postgres: fromLedger, 'safety-controller': fromController };
    await Promise.all(
      Object.entries(sources).map(async ([source, read]) => {
        const ok = await read().then(
          () => true,
          () => false,
        );
        g.up.set({ source }, ok ? 1 : 0);
      }),
    );
  };

  // One refresh at a time: a second scrape (an HA pair of Prometheus servers) arriving mid-refresh
  // would reset the shared registry under the first. It waits for the one in flight and shares it.
  let inFlight: Promise<string> | undefined;
  return {
    registry,
    render(): Promise<string> {
      inFlight ??= refresh()
        .then(() => registry.metrics())
        .finally(() => (inFlight = undefined));
      return inFlight;
    },
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The scrape shows spend per project and model, fix counts and kill switches: not for whoever can
 * reach the intake's port. Prometheus sends `METRICS_TOKEN` (`authorization: { credentials: … }`
 * in its scrape config) or an admin token of any role.
 */
async function scrapeAllowed(prisma: PrismaClient, metricsToken: string | undefined, auth: string | undefined): Promise<boolean> {
  const given = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : '';
  if (!given) return false;
  // Digests have equal length whatever was sent, so the comparison is constant-time.
  if (metricsToken && timingSafeEqual(digest(given), digest(metricsToken))) return true;
  return (await authenticateAdmin(prisma, given)) !== null;
}

export function metricsRouter(deps: MetricsDeps, metricsToken: string | undefined): Router {
  const metrics = createMetrics(deps);
  const router = Router();
  router.get('/metrics', async (req, res) => {
    if (!(await scrapeAllowed(deps.prisma, metricsToken, req.header('authorization'))))
      throw new HttpError(401, 'missing or wrong token: send Authorization: Bearer <METRICS_TOKEN or an admin token>');
    const body = await metrics.render();
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(body);
  });
  return router;
}
