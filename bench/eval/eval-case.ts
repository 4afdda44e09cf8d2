/**
 * One case of the evaluation suite: a fixture repository, its bug report, its intended fix, and
 * the project around it — its ecosystem, the environment the sandbox prepares for it, the command
 * that validates a fix, and how the host runs its tests and hidden acceptance test.
 */
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';
import type { EnvironmentSpec } from '../../src/domain/environment/environment-spec.js';
import type { FileEdit } from './intended-fix.js';
import { NODE_TEST_TAP, scriptedFix, type FixPlan } from './scripted-fix.js';

/** The body POSTed to /api/bugs (minus externalId, which the harness adds per run). */
export interface BugReport {
  title: string;
  description: string;
  reproductionSteps?: string;
  errorLogs?: string;
  /** CRITICAL, HIGH, MEDIUM or LOW (the intake validates it) */
  priority?: string;
  reporter?: string;
  source?: string;
}

export type Ecosystem = 'node' | 'python' | 'go' | 'java';

/** A command as argv: no shell, nothing of a report in it. */
export type Argv = readonly [string, ...string[]];

/**
 * How the host runs a checkout's tests (bench/eval/host-checks.ts). Every command runs with the
 * checkout as its working directory; `node` means the node running the harness, and a first word
 * with a slash (`.venv/bin/python`) is a path inside the checkout.
 */
export interface HostCommands {
  /** run in order in a fresh checkout before any test: installs dependencies (none for go or maven, which fetch their own) */
  prepare: readonly Argv[];
  /** the project's own suite, the runner and output of the validation command */
  test: Argv;
  acceptance: {
    /** a file or folder under bench/eval/acceptance/ */
    source: string;
    /** where `source` is copied in the checkout: a path the project's own test discovery does not pick up */
    target: string;
    /** runs it there */
    run: Argv;
  };
  /** per command (default 300 s: a cold cache may fetch dependencies) */
  timeoutSeconds?: number;
}

/** Everything about a case that is not the bug: what kind of project it is and how it is run. */
export interface CaseProject {
  ecosystem: Ecosystem;
  /** the project's environment; undefined for the plain sandbox image (dependency-free JavaScript) */
  environment?: EnvironmentSpec;
  /** the project's validation commands as the project store keeps them */
  validation: { test: string };
  host: HostCommands;
}

export interface EvalCase extends CaseProject {
  /** fixture folder under dev/repos; its report is bench/eval/reports/<name>.json */
  name: string;
  /** the kind of bug, one per case */
  kind: string;
  report: BugReport;
  fix: readonly FileEdit[];
  /** what the scripted model does and expects, step by step */
  plan: FixPlan;
  /** the scripted model's playbook, built from the same plan (and fix) */
  scenario: ModelScript;
}

/**
 * The first cases' project: dependency-free JavaScript, `npm test` = `node --test`, no environment
 * (the plain sandbox image), the acceptance test a single bench/eval/acceptance/<name>.test.js.
 */
export function nodeTestProject(name: string): CaseProject {
  return {
    ecosystem: 'node',
    environment: undefined,
    validation: { test: NODE_TEST_TAP.command },
    host: {
      prepare: [],
      test: ['node', '--test'],
      acceptance: {
        source: `${name}.test.js`,
        target: 'hidden-acceptance/acceptance.js',
        run: ['node', '--test', 'hidden-acceptance/acceptance.js'],
      },
    },
  };
}

/** A dependency-free JavaScript case tested with `node --test` (TAP output). */
export function evalCase(name: string, kind: string, report: BugReport, plan: Omit<FixPlan, 'tests'>): EvalCase;
/** A case of any ecosystem: the plan says how its tests read, the project how it is set up and run. */
export function evalCase(name: string, kind: string, report: BugReport, plan: FixPlan, project: CaseProject): EvalCase;
export function evalCase(name: string, kind: string, report: BugReport, plan: Omit<FixPlan, 'tests'> & Partial<FixPlan>, project?: CaseProject): EvalCase {
  // The regression test is part of the fix: sent with its edits, applied with them on the host.
  const fix = plan.regressionTest ? [...plan.fix, plan.regressionTest] : plan.fix;
  const full: FixPlan = { ...plan, fix, tests: plan.tests ?? NODE_TEST_TAP };
  return { name, kind, ...(project ?? nodeTestProject(name)), report, fix: full.fix, plan: full, scenario: scriptedFix(full) };
}
