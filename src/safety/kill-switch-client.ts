/**
 * Talking to the safety controller from outside: read the active switches (intake, admission
 * check, admin API, CLI, metrics) and activate or lift one. Shared so every caller agrees on the
 * controller's id, how it is started and how its failures read.
 */
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type Client,
} from '@temporalio/client';
import { blockingSwitch, refusalReason, safetyControllerId, type KillSwitch, type KillSwitchRequest } from '../domain/organisation/kill-switch.js';
import { FixError } from '../fixes/fix-errors.js';
import {
  activateKillSwitchUpdate,
  deactivateKillSwitchUpdate,
  KILL_SWITCHES_MEMO,
  safetyStateQuery,
  type ActivationResult,
  type SafetyState,
} from '../../workflows/safety-messages.js';
import type { safetyControllerWorkflow } from '../../workflows/safety-controller.js';

export interface Admission {
  allowed: boolean;
  reason?: string;
}

/** The activation waits for the fan-out to every running fix in scope. The budget switch's press activity outlives it (BUDGET_PRESS_TIMEOUT_MS). */
export const UPDATE_DEADLINE_MS = 30_000;
/** Intake must stay fast while workers are busy: past this, the memo answers instead of the query. */
const QUERY_DEADLINE_MS = 1000;
/** describe needs no worker; a bound keeps callers from waiting out the SDK's retries when Temporal is down. */
const DESCRIBE_DEADLINE_MS = 5000;

export const EMPTY_STATE: SafetyState = { switches: [], sweeps: 0, killed: 0, continuedRuns: 0 };

/**
 * The controller's state: its query under a short deadline; when no worker answers in time, the
 * switches it mirrors to its memo (readable without a worker). Never started, or closed: nothing
 * is active, since nobody could lift a switch of a closed controller.
 */
export async function readSafetyState(temporal: Client, taskQueue: string, deadlineMs = QUERY_DEADLINE_MS): Promise<SafetyState> {
  const handle = temporal.workflow.getHandle(safetyControllerId(taskQueue));
  const memo = await readSwitchesMemo(temporal, taskQueue);
  if (memo === null) return EMPTY_STATE;
  try {
    return await temporal.withDeadline(Date.now() + deadlineMs, () => handle.query(safetyStateQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return EMPTY_STATE;
    return { ...EMPTY_STATE, switches: memo };
  }
}

/**
 * The switches as the controller mirrors them in its memo: one describe, no worker involved. The
 * memo is written in the same workflow task that acknowledges an activation, so once activate
 * returns, this sees it. null: the controller never started or is closed (nothing is active).
 */
export async function readSwitchesMemo(temporal: Client, taskQueue: string): Promise<KillSwitch[] | null> {
  const handle = temporal.workflow.getHandle(safetyControllerId(taskQueue));
  try {
    const d = await temporal.withDeadline(Date.now() + DESCRIBE_DEADLINE_MS, () => handle.describe());
    if (d.status.name !== 'RUNNING') return null;
    return (d.memo?.[KILL_SWITCHES_MEMO] as KillSwitch[] | undefined) ?? [];
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Whether a new fix of this project may start, and if not, why. */
export async function admission(temporal: Client, taskQueue: string, projectKey: string): Promise<Admission> {
  // Intake asks on every report: the memo answers without a workflow task, so it stays cheap.
  const switches = (await readSwitchesMemo(temporal, taskQueue)) ?? [];
  const blocking = blockingSwitch(switches, projectKey);
  return blocking ? { allowed: false, reason: refusalReason(blocking) } : { allowed: true };
}

/** Starts the controller on demand (update-with-start, USE_EXISTING) and activates the switch. */
export async function activateKillSwitch(temporal: Client, taskQueue: string, req: KillSwitchRequest): Promise<ActivationResult> {
  const start = new WithStartWorkflowOperation<typeof safetyControllerWorkflow>('safetyControllerWorkflow', {
    workflowId: safetyControllerId(taskQueue),
    taskQueue,
    args: [{}],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: 'Kill switches of this deployment',
  });
  return updateOrExplain(temporal, () => temporal.workflow.executeUpdateWithStart(activateKillSwitchUpdate, { args: [req], startWorkflowOperation: start }));
}

/** Lifts an active switch; a controller that was never started has none to lift. */
export async function deactivateKillSwitch(temporal: Client, taskQueue: string, req: KillSwitchRequest): Promise<KillSwitch> {
  const handle = temporal.workflow.getHandle(safetyControllerId(taskQueue));
  try {
    return await updateOrExplain(temporal, () => handle.executeUpdate(deactivateKillSwitchUpdate, { args: [req] }));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new FixError('rejected', `no kill switch ${req.scope} is active`);
    throw err;
  }
}

async function updateOrExplain<T>(temporal: Client, run: () => Promise<T>): Promise<T> {
  try {
    return await temporal.withDeadline(Date.now() + UPDATE_DEADLINE_MS, run);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new FixError('rejected', rootMessage(err));
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
      throw new FixError('timeout', `the safety controller did not answer within ${UPDATE_DEADLINE_MS / 1000} s (is a worker running?)`);
    }
    throw err;
  }
}

function rootMessage(err: Error): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
