/**
 * One eval case through the whole product: a bare git remote from the fixture, registered on the
 * GitHub stand-in, a project with an intake key, the report POSTed to /api/bugs, the workflow's
 * result, then the hidden acceptance test on a host clone of the PR branch (and, as a control, on
 * the base branch, where it must fail or the case measures nothing).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import type { ReproductionStatus } from '../../src/domain/fix/reproduction.js';
import { totalTokens } from '../../src/domain/fix/pricing.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import type { Stack } from '../../dev/local-stack.js';
import type { EvalCase } from './eval-case.js';
import { prepareCheckout, runAcceptance } from './host-checks.js';
import { withoutAnsiStyles } from './scripted-fix.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';
import { waitForFixStart } from '../../src/fixes/resolve-fix.js';

export const EVAL_OWNER = 'eval';

export interface CaseResult {
  name: string;
  kind: string;
  ecosystem: EvalCase['ecosystem'];
  /** pr_created | failed | cancelled from the workflow; error when the harness could not run it */
  status: string;
  reason?: string;
  /** the hidden acceptance test passes on the PR branch */
  fixed: boolean;
  iterations: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  costUsd: number;
  /** POST /api/bugs → workflow result with a PR (includes sandbox removal, a second or less) */
  timeToPrSec: number | null;
  prUrl?: string;
  filesChanged: string[];
  /**
   * The service's reproduction check (outcome.reproduction.status): `verified` when a test the fix
   * added or changed failed on the base commit's code and passed with the fix; `none` when not checked
   */
  reproduction: ReproductionStatus | 'none';
  /** the test files of a verified reproduction */
  reproductionTests?: string[];
  /** control: the acceptance test fails on the base branch (false = a broken case) */
  acceptanceFailsOnBase?: boolean;
  /** tail of the acceptance output when it did not pass */
  acceptanceOutput?: string;
}

export interface CaseContext {
  stack: Stack;
  /** scratch folder of this run (remotes, checkouts) */
  tmp: string;
  /** makes project keys and external ids unique per run */
  runId: string;
  /** told the workflow id once the fix starts (Ctrl-C cancels it, so it removes its sandbox) */
  onStarted?: (workflowId: string) => void;
}

const git = (args: string[], cwd?: string) => execFileSync('git', args, { cwd, stdio: 'pipe', encoding: 'utf8' });

export async function runCase(ctx: CaseContext, c: EvalCase): Promise<CaseResult> {
  const { stack } = ctx;
  // Sequential cases: the stand-in serves one scenario at a time. No stand-in = the real model.
  stack.anthropic?.setScript(c.scenario);
  const bare = createBareRemote(c.name, path.join(ctx.tmp, 'remotes', EVAL_OWNER, `${c.name}.git`));
  stack.github!.addRepo(EVAL_OWNER, c.name, bare);
  const project = await upsertProject(stack.prisma, {
    key: `eval-${c.name}-${ctx.runId}`,
    name: `Eval ${c.name}`,
    repoOwner: EVAL_OWNER,
    repoName: c.name,
    cloneUrl: bare,
    validation: c.validation,
    ...(c.environment ? { environment: c.environment } : {}),
  });
  const key = await issueIntakeKey(stack.prisma, project.id, 'eval');

  const started = performance.now();
  const res = await fetch(`${stack.httpUrl}/api/bugs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    // The report is JSON data end to end; nothing of it reaches a shell.
    body: JSON.stringify({ ...c.report, externalId: `eval-${c.name}-${ctx.runId}` }),
  });
  if (res.status !== 202) throw new Error(`intake answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const { workflowId } = (await res.json()) as { workflowId: string };
  ctx.onStarted?.(workflowId);
  const outcome = (await (await waitForFixStart(stack.temporal, workflowId)).result()) as FixOutcome;
  const elapsedSec = (performance.now() - started) / 1000;

  const result: CaseResult = {
    name: c.name,
    kind: c.kind,
    ecosystem: c.ecosystem,
    status: outcome.status,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    fixed: false,
    iterations: outcome.iterations,
    tokens: totalTokens(outcome.usage),
    inputTokens: outcome.usage.inputTokens,
    outputTokens: outcome.usage.outputTokens,
    cacheWriteTokens: outcome.usage.cacheCreationTokens,
    cacheReadTokens: outcome.usage.cacheReadTokens,
    costUsd: outcome.costUsd,
    timeToPrSec: null,
    filesChanged: [],
    reproduction: outcome.reproduction?.status ?? 'none',
    ...(outcome.reproduction?.status === 'verified' ? { reproductionTests: outcome.reproduction.testFiles } : {}),
  };
  if (outcome.status !== 'pr_created' || !outcome.pr) return result;
  result.timeToPrSec = Number(elapsedSec.toFixed(1));
  result.prUrl = outcome.pr.url;

  // The PR branch as a reviewer would get it: a fresh clone of the remote the product pushed to.
  const checkout = path.join(ctx.tmp, 'checkouts', c.name);
  git(['clone', '-q', '--branch', outcome.pr.branch, '--', bare, checkout]);
  result.filesChanged = git(['diff', '--name-only', 'origin/main...HEAD'], checkout).split('\n').filter(Boolean);
  // Dependencies as the branch names them (a fix may change a manifest), then again for the base.
  await prepareCheckout(checkout, c);
  const onBranch = await runAcceptance(checkout, c);
  result.fixed = onBranch.passed;
  if (!onBranch.passed) result.acceptanceOutput = withoutAnsiStyles(onBranch.output).slice(-1500);
  git(['checkout', '-q', '--detach', 'origin/main'], checkout);
  await prepareCheckout(checkout, c);
  result.acceptanceFailsOnBase = !(await runAcceptance(checkout, c)).passed;
  return result;
}

/** A case the harness could not run at all (intake refused, stack broke): counted, not fixed. */
export function errorResult(c: EvalCase, err: unknown): CaseResult {
  return {
    name: c.name,
    kind: c.kind,
    ecosystem: c.ecosystem,
    status: 'error',
    reason: err instanceof Error ? err.message : String(err),
    fixed: false,
    iterations: 0,
    tokens: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    costUsd: 0,
    timeToPrSec: null,
    filesChanged: [],
    reproduction: 'none',
  };
}
