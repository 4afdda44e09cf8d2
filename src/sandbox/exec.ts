/**
 * Runs one command in a sandbox container over a Docker exec, argv only (never a shell string
 * built from data), with optional bytes on stdin and a kill-on-timeout inside the container.
 *
 * Output is bounded on the worker: by default each stream keeps its head and tail and counts what
 * fell between (a test printing in a loop for 10 minutes must not take the worker, and every fix
 * on it, down with it). Callers that need stdout byte for byte say how many bytes they take.
 */
import { PassThrough } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { WORKSPACE } from '../domain/agent/workspace-paths.js';
import { SANDBOX_GONE } from '../domain/fix/sandbox-errors.js';
import { OutputCapture } from './output-capture.js';

export interface ExecResult {
  exitCode: number;
  /** exact, unless more than the capture window at each end: then head, "[... N bytes cut ...]", tail */
  stdout: Buffer;
  stderr: Buffer;
  /** the bounded captures behind stdout and stderr (totals, and text for the model) */
  captured: { stdout: OutputCapture; stderr: OutputCapture };
  timedOut: boolean;
  durationMs: number;
}

export interface ExecOptions {
  stdin?: Buffer;
  timeoutMs?: number;
  cwd?: string;
  env?: string[];
  /** bytes kept at each end of each stream (default 64 KiB) */
  captureBytes?: number;
  /**
   * Stdout is needed byte for byte (a file's contents, a bundle): kept whole up to this many
   * bytes, and past them the exec fails with OutputTooLarge, never a silently cut copy.
   */
  exactStdoutBytes?: number;
}

/** Error type of an exact read whose output was over its limit. */
export const OUTPUT_TOO_LARGE = 'OutputTooLarge';

const DEFAULT_CAPTURE_BYTES = 64 * 1024;

/** Exit code `timeout -s KILL` reports for a killed command. */
const KILLED_BY_TIMEOUT = 137;

/** Docker's "no such container" (404) and "is not running" (409) mean the sandbox is lost. */
export function asSandboxGone(err: unknown, containerId: string): unknown {
  const status = (err as { statusCode?: number }).statusCode;
  if (status === 404 || status === 409) {
    return ApplicationFailure.nonRetryable(`sandbox container ${containerId.slice(0, 12)} is gone (${status})`, SANDBOX_GONE);
  }
  return err;
}

/**
 * Docker's "no such container" from any call means the sandbox was removed under it: SandboxGone,
 * which the workflow recovers from. Other errors pass through unchanged.
 */
export function asRemovedSandbox(err: unknown): unknown {
  const e = err as { statusCode?: number; message?: string };
  if (e?.statusCode === 404 && /no such container/i.test(e.message ?? '')) return ApplicationFailure.nonRetryable(e.message!, SANDBOX_GONE);
  return err;
}

export async function execInSandbox(docker: Docker, containerId: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  let r: ExecResult;
  try {
    r = await execOnce(docker, containerId, argv, opts);
  } catch (err) {
    throw asSandboxGone(err, containerId);
  }
  // Killed (137) or no exit code while the container stopped or vanished: the sandbox was lost
  // under the command, which is not the command's result. Reported as one, a validation gate
  // "failed" with 137 and the model was asked to fix tests that pass (found by `npm run chaos`).
  if (!r.timedOut && (r.exitCode >= 128 || r.exitCode < 0)) await assertSandboxRunning(docker, containerId, r.exitCode === KILLED_BY_TIMEOUT);
  return r;
}

/** How long a container being removed may still look running after its processes were killed. */
const REMOVAL_SETTLE_MS = 300;

async function assertSandboxRunning(docker: Docker, containerId: string, settle: boolean): Promise<void> {
  const running = async () => {
    try {
      return (await docker.getContainer(containerId).inspect()).State.Running;
    } catch (err) {
      throw asSandboxGone(err, containerId);
    }
  };
  if (!(await running())) throw ApplicationFailure.nonRetryable(`sandbox container ${containerId.slice(0, 12)} stopped under a command`, SANDBOX_GONE);
  if (!settle) return;
  await new Promise((resolve) => setTimeout(resolve, REMOVAL_SETTLE_MS));
  if (!(await running())) throw ApplicationFailure.nonRetryable(`sandbox container ${containerId.slice(0, 12)} stopped under a command`, SANDBOX_GONE);
}

async function execOnce(docker: Docker, containerId: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const exec = await docker.getContainer(containerId).exec({
    // SIGKILL at the deadline: a command cannot trap or ignore it.
    Cmd: ['timeout', '-s', 'KILL', String(seconds), ...argv],
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: opts.stdin !== undefined,
    WorkingDir: opts.cwd ?? WORKSPACE,
    Env: opts.env,
  });
  const stream = await exec.start({ hijack: true, stdin: opts.stdin !== undefined });
  const cap = opts.captureBytes ?? DEFAULT_CAPTURE_BYTES;
  const exact = opts.exactStdoutBytes;
  // An exact read keeps everything up to its limit (no tail window: past the limit it fails).
  const out = exact === undefined ? new OutputCapture(cap, cap) : new OutputCapture(exact, 0);
  const err = new OutputCapture(cap, cap);
  let overflowed = false;
  const stdout = new PassThrough().on('data', (c: Buffer) => {
    out.push(c);
    if (exact !== undefined && out.total > exact && !overflowed) {
      // Stop reading at once; the command itself ends when it finishes or at its timeout.
      overflowed = true;
      stream.destroy();
    }
  });
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
  docker.modem.demuxStream(stream, stdout, stderr);

  // Backstop in case the engine never closes the stream (the in-container timeout is primary).
  let hostTimedOut = false;
  const guard = setTimeout(() => {
    hostTimedOut = true;
    stream.destroy();
  }, timeoutMs + 5_000);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (e: Error) => (hostTimedOut ? resolve() : reject(e)));
      if (opts.stdin !== undefined) stream.end(opts.stdin);
    });
  } finally {
    clearTimeout(guard);
  }
  if (overflowed) {
    // The same command prints the same bytes again: retrying cannot help.
    throw ApplicationFailure.nonRetryable(
      `\`${argv.slice(0, 3).join(' ')}\` printed more than ${exact} bytes, the most this exact read takes`,
      OUTPUT_TOO_LARGE,
    );
  }
  const info = await exec.inspect();
  const exitCode = info.ExitCode ?? (hostTimedOut ? KILLED_BY_TIMEOUT : -1);
  return {
    exitCode,
    stdout: out.kept(),
    stderr: err.kept(),
    captured: { stdout: out, stderr: err },
    timedOut: hostTimedOut || (exitCode === KILLED_BY_TIMEOUT && Date.now() - started >= seconds * 1000 - 50),
    durationMs: Date.now() - started,
  };
}
