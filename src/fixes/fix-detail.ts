/**
 * Everything known about one fix: Temporal's view (visibility + live status query), the report row
 * (outcome, PR), the cost ledger, the timeline from history and, on request, the transcript.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../db/prisma.js';
import { queryStatus, summarize } from './fix-queries.js';
import { resolveFix } from './resolve-fix.js';
import { retryingActivities } from './retrying-activities.js';
import { fixTimeline } from './timeline.js';

export async function fixDetail(deps: { prisma: PrismaClient; temporal: Client }, ref: string) {
  const { workflowId, handle, description } = await resolveFix(deps, ref);
  const [status, retrying, bug, ledger, timeline] = await Promise.all([
    queryStatus(deps.temporal, workflowId),
    retryingActivities(deps.temporal, description),
    deps.prisma.bugReport.findUnique({ where: { workflowId }, include: { project: { select: { key: true } } } }),
    deps.prisma.ledgerEntry.findMany({ where: { workflowId }, orderBy: [{ iteration: 'asc' }, { createdAt: 'asc' }] }),
    fixTimeline(handle),
  ]);
  return {
    fix: summarize(description),
    status,
    /** activities being retried now, with their last error (e.g. GitHub answering 502 at delivery) */
    retrying,
    bug: bug && {
      id: bug.id,
      project: bug.project.key,
      title: bug.title,
      priority: bug.priority,
      source: bug.source,
      status: bug.status,
      statusReason: bug.statusReason,
      createdAt: bug.createdAt.toISOString(),
      completedAt: bug.completedAt?.toISOString() ?? null,
    },
    pr: bug?.prUrl ? { url: bug.prUrl, number: bug.prNumber, branch: bug.fixBranch, repository: bug.fixRepo } : (status?.pr ?? null),
    ledger: ledger.map((l) => ({
      iteration: l.iteration,
      model: l.model,
      inputTokens: l.inputTokens,
      outputTokens: l.outputTokens,
      cacheCreationTokens: l.cacheCreationTokens,
      cacheReadTokens: l.cacheReadTokens,
      costUsd: l.costUsd.toString(),
      at: l.createdAt.toISOString(),
    })),
    timeline,
    environment: status?.environment ? await environmentOf(deps.prisma, status.environment.key) : null,
  };
}

/** The environment build the fix started from: where and how long, and every connection its setup made. */
async function environmentOf(prisma: PrismaClient, key: string) {
  const row = await prisma.environmentImage.findFirst({ where: { key }, orderBy: { createdAt: 'desc' } });
  if (!row) return { key, image: null };
  const egress = row.egress as Array<{ allowed: boolean }>;
  return {
    key,
    image: row.tag,
    host: row.host,
    builtAt: row.createdAt.toISOString(),
    baseSha: row.baseSha,
    setupMs: row.setupMs,
    // Refused connections first: they explain a dependency that did not install.
    egress: [...egress.filter((e) => !e.allowed), ...egress.filter((e) => e.allowed)],
  };
}

/**
 * The model's turns and what went back, as stored by callModel (AgentTurn): all of them, also those
 * later prompts replaced by a summary (the condensations, with the turn each kept from).
 */
export async function fixTranscript(deps: { prisma: PrismaClient; temporal: Client }, ref: string) {
  const { workflowId } = await resolveFix(deps, ref);
  const turns = await deps.prisma.agentTurn.findMany({ where: { workflowId }, orderBy: { iteration: 'asc' } });
  const condensations = await deps.prisma.agentCondensation.findMany({ where: { workflowId }, orderBy: { iteration: 'asc' } });
  return {
    workflowId,
    turns: turns.map((t) => ({
      iteration: t.iteration,
      stopReason: t.stopReason,
      response: t.response,
      followUp: t.followUp,
      notes: t.notes,
      at: t.createdAt.toISOString(),
    })),
    condensations: condensations.map((c) => ({ iteration: c.iteration, keptFrom: c.keptFrom, summary: c.summary, at: c.createdAt.toISOString() })),
  };
}
