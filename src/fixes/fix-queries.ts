/**
 * Reads of fixes from Temporal: the list comes from visibility (search attributes, so it answers
 * without a worker), a snapshot adds the live status query under a short deadline.
 */
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import type { FixStatus } from '../domain/fix/fix.js';
import { BugIdKey, CostUsdKey, IterationKey, PhaseKey, ProjectKeyKey } from '../domain/fix/search-attributes.js';
import { PROJECT_KEY } from '../domain/fix/ids.js';
import { statusQuery } from '../../workflows/bug-fix/messages.js';

/** Temporal's ExecutionStatus values, by the lower-case names the API and CLI take. */
export const EXECUTION_STATUSES = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
} as const;

const PHASES = ['queued', 'provisioning', 'reproducing', 'fixing', 'validating', 'delivering', 'cleaning-up', 'done', 'failed', 'cancelled'] as const;

export const isoInstant = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

/** Every value is an enum or a whitelisted pattern: nothing free-form reaches the query string. */
export const fixFiltersSchema = z.object({
  status: z.enum(Object.keys(EXECUTION_STATUSES) as [keyof typeof EXECUTION_STATUSES]).optional(),
  project: z.string().regex(PROJECT_KEY).optional(),
  phase: z.enum(PHASES).optional(),
  since: isoInstant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type FixFilters = z.infer<typeof fixFiltersSchema>;

export function fixListQuery(f: Omit<FixFilters, 'limit'>): string {
  const parts = [`WorkflowType = 'bugFixWorkflow'`];
  if (f.status) parts.push(`ExecutionStatus = '${EXECUTION_STATUSES[f.status]}'`);
  if (f.project) parts.push(`${ProjectKeyKey.name} = '${f.project}'`);
  if (f.phase) parts.push(`${PhaseKey.name} = '${f.phase}'`);
  if (f.since) parts.push(`StartTime >= '${new Date(f.since).toISOString()}'`);
  return parts.join(' AND ');
}

export interface FixSummary {
  workflowId: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  bugId: string | null;
  projectKey: string | null;
  phase: string | null;
  iteration: number | null;
  costUsd: number | null;
}

export function summarize(info: WorkflowExecutionInfo | WorkflowExecutionDescription): FixSummary {
  const sa = info.typedSearchAttributes;
  return {
    workflowId: info.workflowId,
    status: info.status.name,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString() ?? null,
    bugId: sa.get(BugIdKey) ?? null,
    projectKey: sa.get(ProjectKeyKey) ?? null,
    phase: sa.get(PhaseKey) ?? null,
    iteration: sa.get(IterationKey) ?? null,
    costUsd: sa.get(CostUsdKey) ?? null,
  };
}

export async function listFixes(temporal: Client, filters: FixFilters): Promise<FixSummary[]> {
  const out: FixSummary[] = [];
  for await (const info of temporal.workflow.list({ query: fixListQuery(filters), pageSize: Math.min(filters.limit, 100) })) {
    out.push(summarize(info));
    if (out.length >= filters.limit) break;
  }
  return out;
}

/**
 * The status query needs a worker to answer; a short deadline keeps callers responsive while
 * workers are busy or down (null then). A closed workflow still answers from its last state.
 */
export async function queryStatus(temporal: Client, workflowId: string, deadlineMs = 1500): Promise<FixStatus | null> {
  const handle = temporal.workflow.getHandle(workflowId);
  return temporal.withDeadline(Date.now() + deadlineMs, () => handle.query(statusQuery)).catch((): FixStatus | null => null);
}
