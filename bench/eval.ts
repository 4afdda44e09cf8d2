/**
 * `npm run eval`: the evaluation harness. Every case of the suite (bench/eval/cases) goes
 * through the whole product — intake, Temporal workflow, sandbox, agent, validation, push, PR —
 * and counts as fixed only when its hidden acceptance test passes on a host clone of the PR branch.
 * Without ANTHROPIC_API_KEY the scripted stand-in plays each case's scenario (this proves the
 * harness: anything but all fixed fails the run); with it, the same code measures the real model.
 * Writes bench/results/eval.json (totals and targets at the top, `cases` last) and prints a table.
 * EVAL_CASES=name,name runs a subset.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import Docker from 'dockerode';
import { deleteProject } from '../src/projects/project-store.js';
import { evictEnvironmentImages } from '../src/sandbox/environment-images.js';
import { startStack } from '../dev/local-stack.js';
import { EVAL_CASES } from './eval/cases/index.js';
import { errorResult, runCase, type CaseResult } from './eval/case-run.js';
import { renderReport, summarize } from './eval/report.js';
import { runMain } from './support.js';

const log = (line: string) => console.log(`[eval] ${line}`);

function selectedCases() {
  const wanted = process.env.EVAL_CASES?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!wanted?.length) return EVAL_CASES;
  const unknown = wanted.filter((w) => !EVAL_CASES.some((c) => c.name === w));
  if (unknown.length) throw new Error(`unknown EVAL_CASES: ${unknown.join(', ')} (cases: ${EVAL_CASES.map((c) => c.name).join(', ')})`);
  return EVAL_CASES.filter((c) => wanted.includes(c.name));
}

async function main(): Promise<void> {
  const cases = selectedCases();
  // The fixtures are local git remotes: PRs go to the GitHub stand-in even when a token is set,
  // so an eval never pushes fixture branches to a real repository.
  if (process.env.GITHUB_TOKEN) log('GITHUB_TOKEN ignored: eval PRs go to the local GitHub stand-in');
  delete process.env.GITHUB_TOKEN;

  const began = performance.now();
  const stack = await startStack({ script: cases[0]!.scenario, temporal: 'ephemeral', httpPort: 0, log });
  const scripted = stack.anthropic !== undefined;
  const model = scripted ? 'scripted stand-in' : stack.config.AGENT_MODEL;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-eval-'));
  const runId = Date.now().toString(36);
  const results: CaseResult[] = [];
  // Ctrl-C: cancel the fix in flight (it still removes its sandbox), skip the rest, report what ran.
  let current: string | undefined;
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: cancelling the fix in flight (Ctrl-C again to quit at once)');
    if (current)
      stack.temporal.workflow
        .getHandle(current)
        .cancel()
        .catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  try {
    for (const c of cases) {
      if (interrupted) break;
      log(`${c.name} (${c.ecosystem}, ${c.kind}): filing "${c.report.title}"`);
      const onStarted = (id: string) => void (current = id);
      const r = await runCase({ stack, tmp, runId, onStarted }, c).catch((err: unknown) => errorResult(c, err));
      current = undefined;
      results.push(r);
      log(
        `${c.name}: ${r.status}${r.reason ? ` (${r.reason})` : ''}, fixed=${r.fixed}, ${r.iterations} iterations, ${r.tokens} tokens, $${r.costUsd.toFixed(4)}`,
      );
    }
  } finally {
    process.off('SIGINT', onSigint);
    // Projects of this run only; their ledger rows stay (the ledger outlives projects).
    for (const c of cases) await deleteProject(stack.prisma, `eval-${c.name}-${runId}`).catch(() => false);
    // Their environment images too (what the host's reaper would do next).
    await evictEnvironmentImages(stack.prisma, new Docker(), process.env.BUGFIX_HOST_ID ?? os.hostname(), stack.config.ENVIRONMENT_CACHE_MB * 1024 ** 2).catch(
      () => undefined,
    );
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const totals = summarize(results, model, (performance.now() - began) / 1000);
  const out = path.join(PROJECT_ROOT, 'bench', 'results', 'eval.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ ...totals, cases: results }, null, 2)}\n`);
  console.log(`\n${renderReport(results, totals)}\n`);
  console.log(`wrote ${path.relative(PROJECT_ROOT, out)}`);

  // The scripted model knows each fix: anything short of all fixed is a harness or product bug.
  // A real model is measured, not judged; only a broken case (acceptance passing on base) fails.
  if (interrupted) throw new Error('interrupted: the results cover the cases that ran');
  if (totals.brokenCases.length) throw new Error(`broken cases: ${totals.brokenCases.join(', ')}`);
  if (scripted && totals.fixed !== totals.caseCount) throw new Error(`scripted model fixed ${totals.fixed} of ${totals.caseCount}`);
  // Every case has a test suite, and every scripted fix adds a regression test: each must be verified.
  const unverified = results.filter((r) => r.reproduction !== 'verified').map((r) => `${r.name} (${r.reproduction})`);
  if (scripted && unverified.length) throw new Error(`reproduction test not verified: ${unverified.join(', ')}`);
}

runMain(main);
