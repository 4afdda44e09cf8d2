/** One case of the evaluation suite: a fixture repository, its bug report, its intended fix. */
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';
import type { FileEdit } from './intended-fix.js';
import { scriptedFix, type FixPlan } from './scripted-fix.js';

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

export interface EvalCase {
  /** fixture folder under dev/repos, acceptance test bench/eval/acceptance/<name>.test.js */
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

export function evalCase(name: string, kind: string, report: BugReport, plan: FixPlan): EvalCase {
  return { name, kind, report, fix: plan.fix, plan, scenario: scriptedFix(plan) };
}
