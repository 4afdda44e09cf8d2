/**
 * `npm run bench:tools`: the cost of one trivial command in a sandbox, through the persistent
 * shell versus one `docker exec` per command, in the same run on the same container.
 *  - shellP50Ms / execP50Ms: argv `true` (what git/rg/realpath tool steps pay on top of their work)
 *  - runCommandP50Ms / execRunCommandP50Ms: run_command's real path, `bash -c 'echo hi'`
 *    (includes starting bash inside the container, identical on both sides)
 *  - syntaxCheckP50Ms: the edit guard's parse of a ~1,000-line file per language, on the worker
 *    host, grammar already loaded (what every write_file/edit_file of such a file adds);
 *    syntaxLoadMs: loading each grammar, once per worker process
 * Writes bench/results/tools.json. Commands per side: BENCH_COMMANDS (default 300), after 20 warm-ups.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { cloneOnHost, createSandboxContainer, streamRepoIntoSandbox } from '../src/sandbox/container.js';
import { execInSandbox } from '../src/sandbox/exec.js';
import { ShellPool } from '../src/sandbox/shell-pool.js';
import { loadConfig } from '../src/config.js';
import { findParseProblem } from '../src/sandbox/syntax-check.js';
import type { SyntaxLanguage } from '../src/domain/agent/syntax-guard.js';
import { SYNTAX_SAMPLES } from './syntax-samples.js';
import { createBareRemote } from '../dev/fixture-remotes.js';
import { quantile, round2, runMain, writeResult } from './support.js';

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 300);
const TARGET_SHELL_P50_MS = 2;
const TARGET_RATIO = 20;

async function time(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  return xs;
}

/** Per language: first check (grammar load included), then the p50 of 50 checks. */
async function syntaxChecks(): Promise<{ lines: Record<string, number>; loadMs: Record<string, number>; p50Ms: Record<string, number> }> {
  const lines: Record<string, number> = {};
  const loadMs: Record<string, number> = {};
  const p50Ms: Record<string, number> = {};
  for (const [language, text] of Object.entries(SYNTAX_SAMPLES) as [SyntaxLanguage, string][]) {
    const [first] = await time(1, async () => {
      if (await findParseProblem(language, text)) throw new Error(`the ${language} sample does not parse`);
    });
    lines[language] = text.split('\n').length - 1;
    loadMs[language] = round2(first!);
    p50Ms[language] = round2(quantile(await time(50, () => findParseProblem(language, text)), 0.5));
  }
  return { lines, loadMs, p50Ms };
}

async function main(): Promise<void> {
  const docker = new Docker();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-bench-tools-'));
  const req = {
    workflowId: `bench-tools-${Date.now()}`,
    bugId: '00000000-0000-0000-0000-000000000000',
    projectKey: 'bench',
    cloneUrl: createBareRemote('pagination', path.join(tmp, 'r.git')),
    defaultBranch: 'main',
  };
  const { dir } = await cloneOnHost(path.join(tmp, 'work'), req);
  const container = await createSandboxContainer(docker, loadConfig().SANDBOX_IMAGE, req, `bench-${os.hostname()}`);
  const shells = new ShellPool(docker);
  try {
    await streamRepoIntoSandbox(docker, container.id, dir);
    const viaShell = (argv: string[]) => () => shells.run(container.id, argv);
    const viaExec = (argv: string[]) => () => execInSandbox(docker, container.id, argv);
    const echo = ['bash', '-c', 'echo hi'];
    for (const f of [viaShell(['true']), viaExec(['true'])]) await time(20, f);
    const shell = await time(COMMANDS, viaShell(['true']));
    const exec = await time(COMMANDS, viaExec(['true']));
    const shellEcho = await time(COMMANDS, viaShell(echo));
    const execEcho = await time(COMMANDS, viaExec(echo));
    const syntax = await syntaxChecks();
    const shellP50Ms = quantile(shell, 0.5);
    const execP50Ms = quantile(exec, 0.5);
    writeResult('tools', {
      commands: COMMANDS,
      shellP50Ms: round2(shellP50Ms),
      shellP95Ms: round2(quantile(shell, 0.95)),
      execP50Ms: round2(execP50Ms),
      execP95Ms: round2(quantile(exec, 0.95)),
      ratio: round2(execP50Ms / shellP50Ms),
      runCommandP50Ms: round2(quantile(shellEcho, 0.5)),
      execRunCommandP50Ms: round2(quantile(execEcho, 0.5)),
      runCommandRatio: round2(quantile(execEcho, 0.5) / quantile(shellEcho, 0.5)),
      syntaxCheckLines: syntax.lines,
      syntaxCheckP50Ms: syntax.p50Ms,
      syntaxLoadMs: syntax.loadMs,
      targetShellP50Ms: TARGET_SHELL_P50_MS,
      targetRatio: TARGET_RATIO,
      cpus: os.cpus().length,
    });
  } finally {
    shells.closeAll();
    await container.remove({ force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
