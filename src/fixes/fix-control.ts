/**
 * Steering a running fix: pause, resume, cancel (the workflow's kill signal, so it records who
 * and why and still cleans up), hint, and raising budgets (an update: the workflow validates and
 * answers with the budgets now in force). Shared by the admin API and the CLI.
 */
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcDeadlineError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { DEFAULT_BUDGETS, type FixBudgets } from '../domain/fix/fix.js';
import { raiseAboveCeiling } from '../domain/fix/budgets.js';
import { budgetsSchema, operatorBudgetCeiling } from '../projects/project-settings.js';
import type { PrismaClient } from '../db/prisma.js';
import { hintSignal, killSignal, pauseSignal, raiseBudgetUpdate, resumeSignal } from '../../workflows/bug-fix/messages.js';
import { FixError } from './fix-errors.js';
import { resolveFix } from './resolve-fix.js';

export const hintSchema = z.object({ text: z.string().trim().min(1).max(10_000) });
export const cancelSchema = z.object({ reason: z.string().trim().min(1).max(1000).default('cancelled by an operator') });
export const raiseBudgetSchema = z
  .object({
    maxCostUsd: z.number().positive().max(10_000).optional(),
    maxTokens: z.number().int().positive().max(1_000_000_000).optional(),
    maxIterations: z.number().int().positive().max(100_000).optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one of maxCostUsd, maxTokens, maxIterations');

export type FixAction =
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'cancel'; reason: string }
  | { kind: 'hint'; text: string }
  /** aboveCeiling: the caller may go beyond the project's operator ceiling (an admin) */
  | { kind: 'raise-budget'; budgets: Partial<FixBudgets>; aboveCeiling: boolean };

export interface ControlDeps {
  prisma: PrismaClient;
  temporal: Client;
}

/** How long an update may wait for a worker to accept it before the caller hears "timeout". */
const UPDATE_DEADLINE_MS = 10_000;

export async function controlFix(deps: ControlDeps, ref: string, action: FixAction, actor: string): Promise<{ workflowId: string; budgets?: FixBudgets }> {
  const { workflowId, handle, description } = await resolveFix(deps, ref);
  if (description.status.name !== 'RUNNING') throw new FixError('closed', `fix ${workflowId} is not running (${description.status.name})`);
  try {
    switch (action.kind) {
      case 'pause':
        await handle.signal(pauseSignal);
        return { workflowId };
      case 'resume':
        await handle.signal(resumeSignal);
        return { workflowId };
      case 'cancel':
        await handle.signal(killSignal, { reason: action.reason, actor });
        return { workflowId };
      case 'hint':
        await handle.signal(hintSignal, action.text);
        return { workflowId };
      case 'raise-budget': {
        if (!action.aboveCeiling) {
          const refused = raiseAboveCeiling(action.budgets, await operatorCeiling(deps.prisma, workflowId));
          if (refused) throw new FixError('forbidden', `budget refused: ${refused}`);
        }
        const budgets = await deps.temporal.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
          handle.executeUpdate(raiseBudgetUpdate, { args: [action.budgets] }),
        );
        return { workflowId, budgets };
      }
    }
  } catch (err) {
    // Closed between describe and the call.
    if (err instanceof WorkflowNotFoundError) throw new FixError('closed', `fix ${workflowId} is not running`);
    if (err instanceof WorkflowUpdateFailedError) throw new FixError('rejected', `budget refused: ${rootMessage(err)}`);
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
      throw new FixError('timeout', `no worker accepted the update within ${UPDATE_DEADLINE_MS / 1000} s`);
    }
    throw err;
  }
}

/**
 * What an operator may raise the fix to: its project's budgets.operatorMax, else the project's own
 * per-fix budgets, else the defaults. A fix with no report row (started by hand) has the defaults.
 */
async function operatorCeiling(prisma: PrismaClient, workflowId: string): Promise<FixBudgets> {
  const bug = await prisma.bugReport.findUnique({ where: { workflowId }, select: { project: { select: { budgets: true } } } });
  return operatorBudgetCeiling(budgetsSchema.safeParse(bug?.project.budgets).data ?? {}, DEFAULT_BUDGETS);
}

function rootMessage(err: Error): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
