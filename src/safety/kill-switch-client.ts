/**
 * Talking to the safety controller from outside: read the active switches (intake, admission
 * check, admin API, CLI, metrics) and activate or lift one. Shared so every caller agrees on the
 * controller's id, how it is started and how its failures read.
 *
 * PostgreSQL (ActiveKillSwitch) is the source of truth for "may this spend": a switch is stored
 * before the controller is told and deleted only after the controller lifted it, so a controller
 * that is not running (terminated, never started in a new namespace, history lost) never admits
 * a fix that a stored switch covers. The controller still fans the kill out and sweeps. When
 * neither the table nor a running controller's memo can be read, admission refuses (fails closed).
 */
import { notifySwitch } from './spend-guard.js';
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type Client,
} from '@temporalio/client';
import {
  blockingSwitch,
  refusalReason,
  safetyControllerId,
  validateKillSwitchRequest,
  type KillSwitch,
  type KillSwitchRequest,
  type KillSwitchScope,
} from '../domain/organisation/kill-switch.js';
import type { PrismaClient } from '../db/prisma.js';
import { hotQuery, hotStatement } from '../db/sql.js';
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

/** Where switches are read and written: the stored switches and the controller. */
export interface SafetyClients {
  temporal: Client;
  prisma: PrismaClient;
}

/** Neither the stored switches nor a running controller could be read: nothing may spend. */
export class KillSwitchStateUnreadable extends Error {
  override readonly name = 'KillSwitchStateUnreadable';
}

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
export async function readSafetyState(c: SafetyClients, taskQueue: string, deadlineMs = QUERY_DEADLINE_MS): Promise<SafetyState> {
  const [stored, controller] = await Promise.all([readStoredSwitches(c.prisma, taskQueue), readControllerState(c.temporal, taskQueue, deadlineMs)]);
  return { ...controller, switches: mergeSwitches(stored, controller.switches) };
}

async function readControllerState(temporal: Client, taskQueue: string, deadlineMs: number): Promise<SafetyState> {
  const handle = temporal.workflow.getHandle(safetyControllerId(taskQueue));
  const memo = await readSwitchesMemo(temporal, taskQueue).catch(() => null);
  if (memo === null) return EMPTY_STATE;
  try {
    return await temporal.withDeadline(Date.now() + deadlineMs, () => handle.query(safetyStateQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return EMPTY_STATE;
    return { ...EMPTY_STATE, switches: memo };
  }
}

/** "activatedAt" is a timestamp without time zone holding UTC (as Prisma writes it): read as UTC. */
const STORED_SWITCHES = hotStatement(
  'kill_switches_stored',
  `SELECT "scope", "reason", "actor", "activatedAt" AT TIME ZONE 'UTC' AS "activatedAt"
   FROM "ActiveKillSwitch" WHERE "taskQueue" = $1 ORDER BY "activatedAt"`,
);

/** The switches stored for this deployment (the source of truth; see the header). */
export async function readStoredSwitches(prisma: PrismaClient, taskQueue: string): Promise<KillSwitch[]> {
  // Every intake request reads them (admission): a prepared statement, never a cache, so a
  // pressed switch refuses the very next report.
  const rows = await hotQuery<{ scope: string; reason: string; actor: string; activatedAt: Date }>(prisma, STORED_SWITCHES, [taskQueue]);
  return rows.map((r) => ({ scope: r.scope as KillSwitchScope, reason: r.reason, actor: r.actor, activatedAt: r.activatedAt.toISOString() }));
}

/** Stored switches first; a switch only the controller holds (set before this table existed) counts too. */
function mergeSwitches(stored: readonly KillSwitch[], memo: readonly KillSwitch[]): KillSwitch[] {
  const byScope = new Map(stored.map((s) => [s.scope, s]));
  for (const s of memo) if (!byScope.has(s.scope)) byScope.set(s.scope, s);
  return [...byScope.values()];
}

/**
 * Every active switch: the stored ones and the controller's memo. With the table unreadable a
 * running controller's memo still answers; with neither, KillSwitchStateUnreadable: callers
 * that would spend refuse, never admit.
 */
export async function readActiveSwitches(c: SafetyClients, taskQueue: string): Promise<KillSwitch[]> {
  const [stored, memo] = await Promise.allSettled([readStoredSwitches(c.prisma, taskQueue), readSwitchesMemo(c.temporal, taskQueue)]);
  const memoSwitches = memo.status === 'fulfilled' ? memo.value : null;
  if (stored.status === 'fulfilled') return mergeSwitches(stored.value, memoSwitches ?? []);
  if (memoSwitches !== null) return memoSwitches;
  throw new KillSwitchStateUnreadable(
    `kill switches unreadable (PostgreSQL: ${errorText(stored.reason)}; controller: ${memo.status === 'rejected' ? errorText(memo.reason) : 'not running'}): refusing to spend`,
  );
}

const errorText = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e)).slice(0, 300);

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

/**
 * Whether a new fix (or a triage call) of this project may spend, and if not, why. Throws
 * KillSwitchStateUnreadable when no source of switches answers: a caller never admits then.
 */
export async function admission(c: SafetyClients, taskQueue: string, projectKey: string): Promise<Admission> {
  // Intake asks on every report: one indexed read. The table holds every switch the controller
  // does (stored before it is told, deleted after it lifted them), so the controller's memo (a
  // describe on the Temporal server the intake's starts wait for) is read only without the table.
  const switches = await readStoredSwitches(c.prisma, taskQueue).catch(() => readActiveSwitches(c, taskQueue));
  return admissionBy(switches, projectKey);
}

/** Admission by switches read already (the intake reads the stored ones with its key: src/intake/intake-gate.ts). */
export function admissionBy(switches: readonly KillSwitch[], projectKey: string): Admission {
  const blocking = blockingSwitch(switches, projectKey);
  return blocking ? { allowed: false, reason: refusalReason(blocking) } : { allowed: true };
}

/**
 * Stores the switch, then starts the controller on demand (update-with-start, USE_EXISTING) and
 * activates it there for the fan-out. Stored first: if the controller never answers, the switch
 * still refuses spending (fail closed), and activating again finishes the job.
 */
export async function activateKillSwitch(c: SafetyClients, taskQueue: string, req: KillSwitchRequest): Promise<ActivationResult> {
  const { temporal, prisma } = c;
  try {
    validateKillSwitchRequest(req);
  } catch (err) {
    throw new FixError('rejected', (err as Error).message);
  }
  const stored = { reason: req.reason.trim(), actor: req.actor.trim(), activatedAt: new Date() };
  await prisma.activeKillSwitch.upsert({
    where: { taskQueue_scope: { taskQueue, scope: req.scope } },
    create: { taskQueue, scope: req.scope, ...stored },
    update: stored,
  });
  // Every worker stops the model calls this switch covers now; the controller's fan-out ends the fixes.
  await notifySwitch(prisma, { action: 'on', taskQueue, scope: req.scope as KillSwitchScope, reason: stored.reason });
  // A controller started now (the last one gone) starts with every stored switch, so it sweeps them all.
  const carried = { ...EMPTY_STATE, switches: await readStoredSwitches(prisma, taskQueue) };
  const start = new WithStartWorkflowOperation<typeof safetyControllerWorkflow>('safetyControllerWorkflow', {
    workflowId: safetyControllerId(taskQueue),
    taskQueue,
    args: [{ carried }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: 'Kill switches of this deployment',
  });
  return updateOrExplain(temporal, () => temporal.workflow.executeUpdateWithStart(activateKillSwitchUpdate, { args: [req], startWorkflowOperation: start }));
}

/**
 * Lifts an active switch: in the controller first, then from the table, so spending stays
 * refused until both agree. A switch only the table holds (the controller gone or restarted
 * without it) is lifted from the table alone.
 */
export async function deactivateKillSwitch(c: SafetyClients, taskQueue: string, req: KillSwitchRequest): Promise<KillSwitch> {
  const { temporal, prisma } = c;
  const handle = temporal.workflow.getHandle(safetyControllerId(taskQueue));
  const where = { taskQueue_scope: { taskQueue, scope: req.scope } };
  let lifted: KillSwitch | undefined;
  try {
    lifted = await updateOrExplain(temporal, () => handle.executeUpdate(deactivateKillSwitchUpdate, { args: [req] }));
  } catch (err) {
    const notActiveThere = err instanceof WorkflowNotFoundError || (err instanceof FixError && /^no kill switch .* is active$/.test(err.message));
    if (!notActiveThere) throw err;
  }
  const row = await prisma.activeKillSwitch.delete({ where }).catch(() => null);
  await notifySwitch(prisma, { action: 'off', taskQueue, scope: req.scope as KillSwitchScope });
  if (lifted) return lifted;
  if (!row) throw new FixError('rejected', `no kill switch ${req.scope} is active`);
  return { scope: row.scope as KillSwitchScope, reason: row.reason, actor: row.actor, activatedAt: row.activatedAt.toISOString() };
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
