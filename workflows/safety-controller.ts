/**
 * The safety controller: one per namespace and shared task queue (safetyControllerId), started on
 * demand by the first activation (update-with-start). It holds the kill switches, and on each
 * activation sends the fix's kill signal to every running fix in scope before it acknowledges.
 * While a switch is active it sweeps again periodically, catching fixes that started without the
 * admission check or were not yet visible at activation. History stays bounded by continuing as new.
 * Deterministic code only: visibility reads, signals and database writes are activities.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  scopeProject,
  validateKillSwitchRequest,
  type KillSwitch,
  type KillSwitchRequest,
  type KillSwitchScope,
} from '../src/domain/organisation/kill-switch.js';
import {
  activateKillSwitchUpdate,
  deactivateKillSwitchUpdate,
  KILL_SWITCHES_MEMO,
  safetyStateQuery,
  type ActivationResult,
  type SafetyState,
} from './safety-messages.js';

export interface SafetyControllerInput {
  /** state of the previous run (continue-as-new) */
  carried?: SafetyState & { signalledBy?: Record<string, string[]> };
  /** how often an active switch sweeps again; default 30 s */
  sweepIntervalMs?: number;
  /** continue as new past this many history events; default 2,000 */
  historyLimit?: number;
}

const DEFAULT_SWEEP_MS = 30_000;
const DEFAULT_HISTORY_LIMIT = 2000;
/** Ids remembered per switch so a sweep signals only new fixes; bounded to keep the carried state small. */
const MAX_REMEMBERED = 1000;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['SafetyMisconfigured'] },
});

const errorMessage = (err: unknown): string => {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
};

export async function safetyControllerWorkflow(input: SafetyControllerInput = {}): Promise<void> {
  const { taskQueue } = workflowInfo();
  const carried = input.carried;
  const switches = new Map<KillSwitchScope, KillSwitch>((carried?.switches ?? []).map((s) => [s.scope, s]));
  const signalledBy = new Map<string, string[]>(Object.entries(carried?.signalledBy ?? {}));
  let sweeps = carried?.sweeps ?? 0;
  let killed = carried?.killed ?? 0;

  const state = (): SafetyState => ({ switches: [...switches.values()], sweeps, killed, continuedRuns: carried?.continuedRuns ?? 0 });
  // Mirrored to the memo so intake can read the switches even when no worker answers a query.
  const publish = () => upsertMemo({ [KILL_SWITCHES_MEMO]: [...switches.values()] });
  // Mirrored again at once (runs continued before 'carry-switch-memo' started with an empty memo).
  if (carried) publish();

  const record = (kind: string, severity: 'info' | 'warning' | 'critical', message: string, s: KillSwitch, details: Record<string, unknown>) =>
    acts.recordSafetyEvent({
      id: uuid4(),
      kind,
      severity,
      message,
      actor: s.actor,
      projectKey: scopeProject(s.scope),
      workflowId: workflowInfo().workflowId,
      details: { scope: s.scope, reason: s.reason, ...details },
    });

  /** Sends the kill to running fixes in scope that this switch has not signalled yet. */
  const fanOut = async (s: KillSwitch): Promise<string[]> => {
    const known = signalledBy.get(s.scope) ?? [];
    const r = await acts.killFixesInScope({ scope: s.scope, reason: s.reason, actor: s.actor, taskQueue, exclude: known });
    sweeps += 1;
    killed += r.signalled.length;
    // The switch may have been lifted while the fan-out ran: then there is nothing to remember.
    if (switches.has(s.scope)) signalledBy.set(s.scope, [...known, ...r.signalled].slice(-MAX_REMEMBERED));
    return r.signalled;
  };

  setHandler(safetyStateQuery, state);

  setHandler(
    activateKillSwitchUpdate,
    async (req: KillSwitchRequest): Promise<ActivationResult> => {
      const scope = req.scope as KillSwitchScope;
      const alreadyActive = switches.has(scope);
      const s: KillSwitch = { scope, reason: req.reason.trim(), actor: req.actor.trim(), activatedAt: new Date().toISOString() };
      // Active before the fan-out starts: from here on intake and admission refuse new fixes.
      switches.set(scope, s);
      publish();
      let signalled: string[] = [];
      let fanOutError: string | undefined;
      try {
        signalled = await fanOut(s);
      } catch (err) {
        fanOutError = errorMessage(err);
      }
      await record('kill-switch-activated', 'critical', `kill switch ${scope} activated by ${s.actor}: ${s.reason}`, s, {
        signalled,
        alreadyActive,
        fanOutError,
      });
      return { switch: s, alreadyActive, signalled, ...(fanOutError ? { fanOutError } : {}) };
    },
    { validator: validateKillSwitchRequest },
  );

  setHandler(
    deactivateKillSwitchUpdate,
    async (req: KillSwitchRequest): Promise<KillSwitch> => {
      const lifted = switches.get(req.scope as KillSwitchScope)!;
      switches.delete(lifted.scope);
      signalledBy.delete(lifted.scope);
      publish();
      await record(
        'kill-switch-deactivated',
        'info',
        `kill switch ${lifted.scope} lifted by ${req.actor}: ${req.reason}`,
        { ...lifted, actor: req.actor },
        { activatedBy: lifted.actor, activatedAt: lifted.activatedAt, activationReason: lifted.reason, liftReason: req.reason },
      );
      return lifted;
    },
    {
      validator: (req) => {
        validateKillSwitchRequest(req);
        if (!switches.has(req.scope as KillSwitchScope)) throw new Error(`no kill switch ${req.scope} is active`);
      },
    },
  );

  const historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  const shouldContinue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= historyLimit;

  while (!shouldContinue()) {
    if (switches.size === 0) {
      await condition(() => switches.size > 0 || shouldContinue());
      continue;
    }
    // Timed out with switches still active: sweep again for fixes that slipped past.
    const woke = await condition(() => switches.size === 0 || shouldContinue(), input.sweepIntervalMs ?? DEFAULT_SWEEP_MS);
    if (woke) continue;
    for (const s of [...switches.values()]) {
      try {
        const late = await fanOut(s);
        if (late.length > 0)
          await record('kill-switch-sweep', 'warning', `kill switch ${s.scope} stopped ${late.length} fix(es) that started after it`, s, { signalled: late });
      } catch {
        // Retried at the next sweep; the switch itself stays active.
      }
    }
  }
  // Handlers in flight (an activation's fan-out) finish in this run; their result goes to the caller.
  await condition(allHandlersFinished);
  const next = { ...input, carried: { ...state(), continuedRuns: (carried?.continuedRuns ?? 0) + 1, signalledBy: Object.fromEntries(signalledBy) } };
  // The next run starts with the switches in its memo: until its first workflow task runs (a busy
  // or stopped worker), intake reads them there, and an empty memo would admit every fix.
  if (patched('carry-switch-memo'))
    await makeContinueAsNewFunc<typeof safetyControllerWorkflow>({ memo: { [KILL_SWITCHES_MEMO]: [...switches.values()] } })(next);
  await continueAsNew<typeof safetyControllerWorkflow>(next);
}
