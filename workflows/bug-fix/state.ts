/**
 * What one run of a fix knows and how the outside steers it: budgets, progress, spend, pause, the
 * status query and the signal/update handlers, the step runner a kill or the time budget cancels,
 * and the wall-clock watchdog. Handlers only change this state; the workflow reads it between
 * steps (after the safe-message-handlers sample of temporalio/samples-typescript).
 */
import { CancellationScope, condition, isCancellation, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { timeBudgetReason, validateBudgetRaise, type Spent } from '../../src/domain/fix/budgets.js';
import {
  DEFAULT_BUDGETS,
  type CarriedState,
  type FixBudgets,
  type FixInput,
  type FixOutcome,
  type FixStatus,
  type FixTimings,
  type Phase,
  type PullRequestRef,
  type ValidationGateResult,
} from '../../src/domain/fix/fix.js';
import { totalTokens, unitsToUsd, ZERO_USAGE, type TokenUsage } from '../../src/domain/fix/pricing.js';
import { DEFAULT_REPRODUCTION_POLICY, type ReproductionEvidence, type ReproductionPolicy } from '../../src/domain/fix/reproduction.js';
import { CostUsdKey, IterationKey, PhaseKey } from '../../src/domain/fix/search-attributes.js';
import { FixStopped } from './errors.js';
import { hintSignal, killSignal, pauseSignal, raiseBudgetUpdate, resumeSignal, statusQuery } from './messages.js';

/** How a fix ends when it does not open a pull request, and why. */
export interface StopRequest {
  status: 'failed' | 'cancelled';
  reason: string;
}

export type SandboxRef = CarriedState['sandbox'];

export class FixRun {
  readonly bugId: string;
  /** the first run's start: budgets and timings count from there across continue-as-new */
  readonly startedAt: number;
  /** how many runs this fix continued as new before this one */
  readonly continuedRuns: number;
  budgets: FixBudgets;
  /** what raiseBudget changed: kept over the project's budgets when those arrive after a raise */
  raised: Partial<FixBudgets> = {};
  phase: Phase = 'queued';
  /** the status query's phaseDetail (set while a lost sandbox is provisioned again) */
  phaseDetail: string | undefined;
  iteration: number;
  usage: TokenUsage;
  costUnits: number;
  paused: boolean;
  validation: ValidationGateResult[];
  validationRounds: number;
  /** for the next model call (validation feedback, carried hints) */
  notes: string[];
  readonly lastActions: string[];
  readonly timings: FixTimings;
  /** hints received and not yet given to a model call */
  readonly pendingHints: string[] = [];
  sandbox: SandboxRef | undefined;
  pr: PullRequestRef | undefined;
  outcome: FixOutcome | undefined;
  /** the project's reproduction test policy (loaded with the report) */
  reproductionPolicy: ReproductionPolicy = DEFAULT_REPRODUCTION_POLICY;
  /** the `test` gate's result at the base commit, before the agent changed anything */
  baselineTestPassed: boolean | undefined;
  /** the service's check of the fix's reproduction test, after its validation passed */
  reproduction: ReproductionEvidence | undefined;

  /** A stop requested from outside the current step (kill, time budget): cancels that step. */
  private stop: StopRequest | undefined;
  private currentStep: CancellationScope | undefined;
  /** bumped when budgets change: the watchdog re-reads maxDurationMs */
  private budgetVersion = 0;
  private finished = false;

  constructor(input: FixInput) {
    const resumed = input.resume;
    this.bugId = input.bugId;
    this.startedAt = resumed?.startedAt ?? Date.now();
    this.continuedRuns = resumed?.continuedRuns ?? 0;
    this.budgets = resumed?.budgets ?? { ...DEFAULT_BUDGETS, ...input.budgets };
    this.iteration = resumed?.iteration ?? 0;
    this.usage = resumed?.usage ?? ZERO_USAGE;
    this.costUnits = resumed?.costUnits ?? 0;
    this.paused = resumed?.paused ?? false;
    this.validation = resumed?.validation ?? [];
    this.validationRounds = resumed?.validationRounds ?? 0;
    this.notes = resumed?.notes ?? [];
    this.lastActions = [...(resumed?.lastActions ?? [])];
    this.timings = { ...(resumed?.timings ?? { commandsMs: 0, validationMs: 0 }) };
    this.sandbox = resumed?.sandbox;
    this.baselineTestPassed = resumed?.baselineTestPassed;
  }

  costUsd(): number {
    return unitsToUsd(this.costUnits);
  }

  spent(): Spent {
    return { iterations: this.iteration, tokens: totalTokens(this.usage), costUsd: this.costUsd(), elapsedMs: Date.now() - this.startedAt };
  }

  status(): FixStatus {
    const { budgets, usage } = this;
    return {
      bugId: this.bugId,
      phase: this.phase,
      ...(this.phaseDetail ? { phaseDetail: this.phaseDetail } : {}),
      iteration: this.iteration,
      paused: this.paused,
      usage,
      costUsd: this.costUsd(),
      budgets,
      budgetLeft: {
        iterations: budgets.maxIterations - this.iteration,
        tokens: budgets.maxTokens - totalTokens(usage),
        costUsd: budgets.maxCostUsd - this.costUsd(),
      },
      validation: this.validation,
      lastActions: this.lastActions.slice(-10),
      timings: { ...this.timings },
      pr: this.pr,
      outcome: this.outcome,
      ...(this.sandbox?.environment ? { environment: this.sandbox.environment } : {}),
      ...(this.reproduction ? { reproduction: this.reproduction } : {}),
      ...(this.sandbox ? { sandbox: { containerId: this.sandbox.containerId, hostQueue: this.sandbox.hostQueue } } : {}),
    };
  }

  /** Moves to a phase and shows it (with iteration and cost) in the fix's search attributes. */
  enter(next: Phase): void {
    this.phase = next;
    upsertSearchAttributes([
      { key: PhaseKey, value: next },
      { key: IterationKey, value: this.iteration },
      { key: CostUsdKey, value: this.costUsd() },
    ]);
  }

  /** The project's budgets apply over the defaults; what the starter asked for and what raiseBudget set win over both. */
  applyProjectBudgets(project: Partial<FixBudgets>, requested: Partial<FixBudgets> | undefined): void {
    this.budgets = { ...DEFAULT_BUDGETS, ...project, ...requested, ...this.raised };
    this.budgetVersion += 1; // the watchdog re-reads maxDurationMs
  }

  /** The first stop asked for wins; the step in flight is cancelled. */
  requestStop(status: StopRequest['status'], reason: string): void {
    this.stop ??= { status, reason };
    this.currentStep?.cancel();
  }

  /** What the next run starts from when this one continues as new (references, as they are now). */
  carry(): CarriedState {
    return {
      startedAt: this.startedAt,
      budgets: this.budgets,
      iteration: this.iteration,
      usage: this.usage,
      costUnits: this.costUnits,
      validationRounds: this.validationRounds,
      notes: this.notes,
      validation: this.validation,
      timings: this.timings,
      lastActions: this.lastActions.slice(-10),
      sandbox: this.sandbox!,
      paused: this.paused,
      continuedRuns: this.continuedRuns + 1,
      ...(this.baselineTestPassed !== undefined ? { baselineTestPassed: this.baselineTestPassed } : {}),
    };
  }

  /** A method, not a field read: TypeScript cannot see that handlers change `stop` between awaits. */
  stopRequested(): FixStopped | null {
    return this.stop ? new FixStopped(this.stop.status, this.stop.reason) : null;
  }

  registerHandlers(): void {
    setHandler(statusQuery, () => this.status());
    setHandler(pauseSignal, () => void (this.paused = true));
    setHandler(resumeSignal, () => void (this.paused = false));
    setHandler(killSignal, (k) => this.requestStop('cancelled', `killed by ${k.actor ?? 'an operator'}: ${k.reason}`));
    setHandler(hintSignal, (text) => void this.pendingHints.push(`Hint from an engineer: ${text}`));
    setHandler(
      raiseBudgetUpdate,
      (raise) => {
        this.budgets = { ...this.budgets, ...raise };
        this.raised = { ...this.raised, ...raise };
        this.budgetVersion += 1;
        return this.budgets;
      },
      { validator: (raise) => validateBudgetRaise(this.budgets, this.spent(), raise) },
    );
  }

  /**
   * The wall-clock budget is a timer, re-armed when the budget is raised. Start it once, right
   * after the handlers; it ends after finish().
   */
  async watchTimeBudget(): Promise<void> {
    try {
      while (!this.finished) {
        const version = this.budgetVersion;
        const left = this.startedAt + this.budgets.maxDurationMs - Date.now();
        if (left <= 0) return this.requestStop('failed', timeBudgetReason(this.budgets));
        await condition(() => this.finished || this.budgetVersion !== version, left);
      }
    } catch (err) {
      if (!isCancellation(err)) throw err; // the whole fix was cancelled: nothing left to watch
    }
  }

  /** The fix is over (or continues as new): the watchdog stops watching. */
  finish(): void {
    this.finished = true;
  }

  /** Runs one step so that a kill or the time budget can cancel it while in flight. */
  async step<T>(work: () => Promise<T>): Promise<T> {
    const before = this.stopRequested();
    if (before) throw before;
    const scope = new CancellationScope();
    this.currentStep = scope;
    try {
      return await scope.run(work);
    } catch (err) {
      const stopped = this.stopRequested();
      if (stopped && isCancellation(err)) throw stopped;
      throw err;
    } finally {
      this.currentStep = undefined;
    }
  }

  /** While paused nothing starts: no model call, no command, no validation, no delivery. */
  async unlessPaused(): Promise<void> {
    await condition(() => !this.paused || this.stop !== undefined);
    const stopped = this.stopRequested();
    if (stopped) throw stopped;
  }
}
