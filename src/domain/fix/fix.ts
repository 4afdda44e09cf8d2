/** Types and small pure rules of one fix, shared by the workflow, activities, API and CLI. */
import type { TokenUsage } from './pricing.js';
import type { ReproductionEvidence } from './reproduction.js';

export type Phase = 'queued' | 'provisioning' | 'reproducing' | 'fixing' | 'validating' | 'delivering' | 'cleaning-up' | 'done' | 'failed' | 'cancelled';

export interface FixBudgets {
  maxIterations: number;
  maxTokens: number;
  /** US dollars */
  maxCostUsd: number;
  /** wall-clock limit of the whole fix, ms */
  maxDurationMs: number;
  maxValidationRounds: number;
}

export const DEFAULT_BUDGETS: FixBudgets = {
  maxIterations: 30,
  maxTokens: 1_000_000,
  maxCostUsd: 8,
  maxDurationMs: 30 * 60_000,
  maxValidationRounds: 3,
};

export interface FixInput {
  bugId: string;
  projectId: string;
  projectKey: string;
  budgets?: Partial<FixBudgets>;
  /** link to this workflow in the Temporal UI, for the pull request body */
  workflowUrl?: string;
  /** continue-as-new once history passes this many events (default 2000) */
  historyLimit?: number;
  /** state carried over by continue-as-new */
  resume?: CarriedState;
  /** a follow-up round on the fix's open pull request (workflows/github-pull) */
  followUp?: FollowUpRound;
}

/**
 * A follow-up round: the sandbox starts from the PR branch's head, the model reads the reviewers'
 * feedback (PullRequestRound row of this workflow id), and delivery adds one commit to the same
 * branch, fast-forward only, with no new pull request.
 */
export interface FollowUpRound {
  branch: string;
  /** the head the PR workflow saw when it started the round */
  headSha: string;
  prNumber: number;
  round: number;
  /** where the PR's branch lives when it is not the project's repository (fork delivery) */
  cloneUrl?: string;
}

/** What a fix carries into its next run when it continues as new (history stays small). */
export interface CarriedState {
  startedAt: number;
  budgets: FixBudgets;
  iteration: number;
  usage: TokenUsage;
  costUnits: number;
  validationRounds: number;
  notes: string[];
  validation: ValidationGateResult[];
  timings: FixTimings;
  lastActions: string[];
  sandbox: { containerId: string; hostQueue: string; baseSha: string; environment?: FixEnvironment };
  paused: boolean;
  continuedRuns: number;
  /** the `test` gate passed at the base commit (reproduction phase); absent without one */
  baselineTestPassed?: boolean;
}

export interface ValidationGateResult {
  gate: string;
  command: string;
  passed: boolean;
  exitCode: number;
  durationMs: number;
  /** truncated combined output */
  output: string;
}

export interface PullRequestRef {
  url: string;
  number: number;
  branch: string;
  /** owner/name of the repository the branch was pushed to: the project's own, or its fork (absent before fork delivery existed) */
  repository?: string;
}

/** Where a fix's time went, beyond orchestration: the project's own commands and gates. */
export interface FixTimings {
  commandsMs: number;
  validationMs: number;
  /** from the start of the fix to its pull request (workflow time) */
  toPrMs?: number;
}

export type FixOutcomeStatus = 'pr_created' | 'failed' | 'cancelled';

export interface FixOutcome {
  status: FixOutcomeStatus;
  reason?: string;
  pr?: PullRequestRef;
  iterations: number;
  usage: TokenUsage;
  costUsd: number;
  validation: ValidationGateResult[];
  timings: FixTimings;
  /** the service's check of the fix's reproduction test (absent when not checked) */
  reproduction?: ReproductionEvidence;
}

export interface FixStatus {
  bugId: string;
  phase: Phase;
  /** what the phase is waiting on when it is not the usual, e.g. "re-provisioning: sandbox lost (2 in a row)" */
  phaseDetail?: string;
  iteration: number;
  paused: boolean;
  usage: TokenUsage;
  costUsd: number;
  budgets: FixBudgets;
  budgetLeft: { iterations: number; tokens: number; costUsd: number };
  validation: ValidationGateResult[];
  lastActions: string[];
  timings: FixTimings;
  pr?: PullRequestRef;
  outcome?: FixOutcome;
  /** the prepared environment the sandbox started from, when the project has one */
  environment?: FixEnvironment;
  /** the service's check of the fix's reproduction test, once done */
  reproduction?: ReproductionEvidence;
  /** the sandbox the fix works in now, and the task queue of the host holding it */
  sandbox?: { containerId: string; hostQueue: string };
}

export interface FixEnvironment {
  key: string;
  image: string;
  /** hosts the environment's setup asked for and was refused */
  egressDenied: string[];
}

/** Only the project's validation gates, in the order they run. */
export const VALIDATION_GATES = ['typecheck', 'lint', 'build', 'test'] as const;
export type ValidationGate = (typeof VALIDATION_GATES)[number];
export type ValidationCommands = Partial<Record<ValidationGate, string>>;

export function validationFeedback(results: ValidationGateResult[]): string {
  const failed = results.filter((r) => !r.passed);
  return [
    "The service ran the project's validation after your task_complete and it FAILED. Fix the problems and call task_complete again.",
    ...failed.map((r) => `--- ${r.gate}: \`${r.command}\` exited ${r.exitCode} ---\n${r.output}`),
  ].join('\n\n');
}
