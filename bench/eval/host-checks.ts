/**
 * Runs a checkout's own tests and its hidden acceptance test on the host, with the host's
 * toolchains, the way each case says (EvalCase.host): argv only, never a shell, and nothing of a
 * bug report in any command. The acceptance test lives outside the fixture repository (the agent
 * never sees it); it is copied into a checkout only here, to a path the project's own test
 * discovery does not pick up, and removed again after the run.
 *
 * Dependencies come from the host's usual caches (~/.npm, pip's cache, the Go module cache,
 * ~/.m2): the registries are reachable from the host, and these caches are shared by design.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURE_REPOS } from '../../dev/fixture-remotes.js';
import type { Argv, EvalCase } from './eval-case.js';

export const ACCEPTANCE_DIR = path.join(import.meta.dirname, 'acceptance');

export interface TestRun {
  passed: boolean;
  exitCode: number | null;
  /** stdout then stderr */
  output: string;
  /** as run_command shows a result to the model: "Exit code: N", then stdout and stderr */
  asToolResult: string;
  durationMs: number;
}

type HostCase = Pick<EvalCase, 'name' | 'host'>;

/**
 * Variables of the process running the harness that would change how a nested runner behaves:
 * vitest's own (a vitest inside vitest thinks it is a worker), node's test runner's child mode
 * (it would report in its binary protocol instead of TAP), and loaders added to node's options.
 */
const INHERITED_NOT = /^(VITEST|NODE_TEST_CONTEXT$|NODE_OPTIONS$|TSX_)/;

function hostEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_NOT.test(k)));
  return {
    ...env,
    // No toolchain downloads and no update nags: the go line of a fixture is one the host's go runs.
    GOTOOLCHAIN: 'local',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    // Maven's JVM lives seconds: C1 only and the serial collector halve its CPU time on the host.
    MAVEN_OPTS: process.env.MAVEN_OPTS ?? '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC',
  };
}

function executable(dir: string, word: string): string {
  if (word === 'node') return process.execPath;
  return word.includes('/') ? path.resolve(dir, word) : word;
}

/**
 * Runs one command in `dir` (asynchronously, so cases of different ecosystems can overlap); a
 * command that cannot start (ENOENT) or runs out of time reads as a failed run.
 */
export function runArgv(dir: string, argv: Argv, timeoutSeconds = 300): Promise<TestRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(executable(dir, argv[0]), argv.slice(1), {
      cwd: dir,
      env: hostEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutSeconds * 1000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let failure = '';
    child.on('error', (e) => void (failure = `\n${e.message}`));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = `${Buffer.concat(err).toString('utf8')}${failure}${signal ? `\nkilled by ${signal} (timeout ${timeoutSeconds} s?)` : ''}`;
      resolve({
        passed: code === 0,
        exitCode: code,
        output: `${stdout}${stderr}`,
        asToolResult: [`Exit code: ${code ?? 137}`, `--- stdout ---\n${stdout}`, `--- stderr ---\n${stderr}`].join('\n'),
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}

export const fixtureRepo = (name: string): string => path.join(FIXTURE_REPOS, name);
export const acceptanceSource = (c: HostCase): string => path.join(ACCEPTANCE_DIR, c.host.acceptance.source);

/** Installs a checkout's dependencies (the case's prepare commands); throws with the output when one fails. */
export async function prepareCheckout(dir: string, c: HostCase): Promise<number> {
  const started = performance.now();
  for (const argv of c.host.prepare) {
    const r = await runArgv(dir, argv, c.host.timeoutSeconds);
    if (!r.passed) throw new Error(`${c.name}: preparing the checkout failed: ${argv.join(' ')} exited ${r.exitCode}\n${r.output.slice(-2000)}`);
  }
  return Math.round(performance.now() - started);
}

/** The checkout's own suite, the way its validation command runs it. */
export function runOwnTests(dir: string, c: HostCase): Promise<TestRun> {
  return runArgv(dir, c.host.test, c.host.timeoutSeconds);
}

/** The hidden acceptance test of case `c` against the (prepared) checkout in `dir`. */
export async function runAcceptance(dir: string, c: HostCase): Promise<TestRun> {
  const { target, run } = c.host.acceptance;
  const dest = path.resolve(dir, target);
  if (path.relative(dir, dest).startsWith('..')) throw new Error(`${c.name}: acceptance target ${target} is outside the checkout`);
  if (fs.existsSync(dest)) throw new Error(`${c.name}: ${target} already exists in the checkout`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.cpSync(acceptanceSource(c), dest, { recursive: true });
  try {
    return await runArgv(dir, run, c.host.timeoutSeconds);
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
}
