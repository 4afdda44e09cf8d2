/**
 * The safety controller's side effects: find the running fixes a kill switch covers (Temporal
 * visibility) and send each the fix's own kill signal, record safety events, and the admission
 * check a fix calls before it starts work.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { scopeProject, type KillSwitchScope } from '../src/domain/organisation/kill-switch.js';
import { ProjectKeyKey } from '../src/domain/fix/search-attributes.js';
import type { PrismaClient } from '../src/db/prisma.js';
import { withoutNul } from '../src/db/jsonb.js';
import { admission, type Admission } from '../src/safety/kill-switch-client.js';
import { taskQueues } from '../temporal.config.js';
import { killSignal } from '../workflows/bug-fix/messages.js';

export interface KillFixesInput {
  scope: KillSwitchScope;
  reason: string;
  actor: string;
  /** the controller's own task queue: its deployment's fixes, never another deployment's */
  taskQueue: string;
  /** fixes already signalled by this switch */
  exclude?: string[];
}

export interface KillFixesResult {
  signalled: string[];
  /** closed between the visibility read and the signal */
  gone: number;
}

export interface SafetyEventInput {
  /** chosen by the workflow, so a retried activity writes the row once */
  id: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  actor?: string;
  projectKey?: string | null;
  workflowId?: string;
  details?: Record<string, unknown>;
}

/** Signals in parallel, but not thousands at once against the frontend. */
const SIGNAL_CONCURRENCY = 25;

/** Visibility query of the running fixes a scope covers; keys are whitelisted by the scope rules. */
export function runningFixesQuery(scope: KillSwitchScope, taskQueue: string): string {
  const project = scopeProject(scope);
  const parts = [`WorkflowType = 'bugFixWorkflow'`, `ExecutionStatus = 'Running'`, `TaskQueue = '${taskQueue.replace(/'/g, '')}'`];
  if (project) parts.push(`${ProjectKeyKey.name} = '${project}'`);
  return parts.join(' AND ');
}

export function createSafetyActivities(deps: { prisma: PrismaClient; temporal?: Client }) {
  const client = (): Client => {
    if (!deps.temporal) throw ApplicationFailure.nonRetryable('the safety activities need a Temporal client in the activity deps', 'SafetyMisconfigured');
    return deps.temporal;
  };

  return {
    async killFixesInScope(input: KillFixesInput): Promise<KillFixesResult> {
      const temporal = client();
      const exclude = new Set(input.exclude ?? []);
      const targets: string[] = [];
      for await (const info of temporal.workflow.list({ query: runningFixesQuery(input.scope, input.taskQueue) })) {
        if (!exclude.has(info.workflowId)) targets.push(info.workflowId);
      }
      const signalled: string[] = [];
      let gone = 0;
      const payload = { reason: `kill switch ${input.scope}: ${input.reason}`, actor: input.actor };
      for (let i = 0; i < targets.length; i += SIGNAL_CONCURRENCY) {
        const batch = targets.slice(i, i + SIGNAL_CONCURRENCY);
        const results = await Promise.allSettled(batch.map((id) => temporal.workflow.getHandle(id).signal(killSignal, payload)));
        results.forEach((r, j) => {
          if (r.status === 'fulfilled') signalled.push(batch[j]!);
          else if (r.reason instanceof WorkflowNotFoundError) gone += 1;
          else throw r.reason; // retried: the signals already sent are idempotent for a fix
        });
        Context.current().heartbeat(signalled.length);
      }
      return { signalled, gone };
    },

    async recordSafetyEvent(e: SafetyEventInput): Promise<void> {
      const project = e.projectKey ? await deps.prisma.project.findUnique({ where: { key: e.projectKey }, select: { id: true } }) : null;
      // Reasons come from people, also straight through Temporal (CLI) where the API does not check them.
      await deps.prisma.safetyEvent.createMany({
        data: withoutNul([
          {
            id: e.id,
            kind: e.kind,
            severity: e.severity,
            message: e.message,
            actor: e.actor,
            workflowId: e.workflowId,
            projectId: project?.id ?? null,
            details: e.details as object | undefined,
          },
        ]),
        skipDuplicates: true,
      });
    },

    /**
     * For bugFixWorkflow before it starts work: refused when an active kill switch covers the
     * project. Fails (and is retried) only when the controller's state cannot be read at all.
     */
    async admissionCheck(input: { projectKey: string }): Promise<Admission> {
      return admission({ temporal: client(), prisma: deps.prisma }, taskQueues.main, input.projectKey);
    },
  };
}
