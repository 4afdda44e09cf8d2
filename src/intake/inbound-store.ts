/**
 * Inbound messages (emails, chat, form posts) are stored in PostgreSQL before intake answers, as
 * bug reports are (fix-dispatcher.ts): the provider is told 202 only for a message that outlives
 * a model outage, a Temporal outage or a crash. Each row names its triage workflow; the triage
 * outbox (triage-dispatcher.ts) starts what is not started, and a FAILED message runs again when
 * it is redelivered or an operator retries it.
 */
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import { loadConfig } from '../config.js';
import type { PrismaClient } from '../db/prisma.js';
import { stableHash } from '../domain/fix/ids.js';
import { triageWorkflowId, type InboundStatus, type TriageInput } from '../domain/organisation/triage-verdict.js';
import type { InboundMessage as InboundRow } from '../generated/prisma/client.js';
import { isUniqueViolation } from './file-bug.js';
import type { InboundMessage } from './inbound-message.js';
import { CLAIM_MS } from './outbox-claim.js';
import { startTriage } from './start-triage.js';

export type { InboundRow };

/** A provider's message id identifies a redelivery; without one, identical content does. */
export function inboundExternalId(m: InboundMessage): string {
  return `${m.source}-${stableHash(m.messageId ?? `${m.from}\n${m.subject}\n${m.text}`)}`;
}

export function triageInputOf(row: InboundRow, projectKey: string, retryWindowMs?: number): TriageInput {
  const source = row.source as TriageInput['source'];
  return {
    projectId: row.projectId,
    projectKey,
    source,
    from: row.sender,
    subject: row.subject,
    text: row.text,
    externalId: row.externalId,
    ...(retryWindowMs ? { retryWindowMs } : {}),
  };
}

/** TRIAGE_RETRY_WINDOW_MINUTES, unless a caller names its own. */
export const configuredRetryWindowMs = () => loadConfig().TRIAGE_RETRY_WINDOW_MINUTES * 60_000;

/**
 * Stores the message once per (project, external id). A redelivery of a message whose triage
 * FAILED puts it back to PENDING, so it is triaged again; any other redelivery changes nothing.
 * `claim`: a new row is claimed for the storing process's triage outbox (outbox-claim.ts).
 */
export async function storeInbound(
  prisma: PrismaClient,
  project: { id: string; key: string },
  m: InboundMessage,
  claim = false,
): Promise<{ row: InboundRow; created: boolean }> {
  const externalId = inboundExternalId(m);
  const data = {
    projectId: project.id,
    source: m.source,
    sender: m.from,
    subject: m.subject,
    text: m.text,
    externalId,
    triageWorkflowId: triageWorkflowId(project.key, externalId),
    taskQueue: taskQueues.main,
    claimedUntil: claim ? new Date(Date.now() + CLAIM_MS) : null,
  };
  try {
    return { row: await prisma.inboundMessage.create({ data }), created: true };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  await requeueFailed(prisma, { projectId: project.id, externalId });
  return { row: await prisma.inboundMessage.findUniqueOrThrow({ where: { projectId_externalId: { projectId: project.id, externalId } } }), created: false };
}

/** FAILED → PENDING (for the outbox); false when the message was not FAILED. */
export async function requeueFailed(prisma: PrismaClient, where: { id: string } | { projectId: string; externalId: string }): Promise<boolean> {
  const { count } = await prisma.inboundMessage.updateMany({
    where: { ...where, status: 'FAILED' satisfies InboundStatus },
    data: { status: 'PENDING' satisfies InboundStatus, workflowStartedAt: null },
  });
  return count > 0;
}

/** Starts (or finds) the row's triage run and records that it started. */
export async function startStoredTriage(deps: { prisma: PrismaClient; temporal: Client; triageRetryWindowMs?: number }, row: InboundRow): Promise<void> {
  const project = await deps.prisma.project.findUnique({ where: { id: row.projectId }, select: { key: true } });
  if (!project) return; // deleted since: the row goes with it (cascade)
  await startTriage(deps.temporal, row.triageWorkflowId, triageInputOf(row, project.key, deps.triageRetryWindowMs ?? configuredRetryWindowMs()));
  await deps.prisma.inboundMessage.updateMany({
    where: { id: row.id, workflowStartedAt: null },
    data: { workflowStartedAt: new Date(), status: 'TRIAGING' satisfies InboundStatus, runs: { increment: 1 } },
  });
}

/** Marks the outcome of a triage run (called from its activities). */
export async function markInbound(prisma: PrismaClient, triageWorkflowId: string, status: InboundStatus, lastError?: string): Promise<void> {
  await prisma.inboundMessage.updateMany({
    where: { triageWorkflowId },
    data: { status, ...(lastError !== undefined ? { lastError: lastError.slice(0, 2000) } : {}) },
  });
}
