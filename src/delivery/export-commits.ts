/**
 * The agent's commits out of the sandbox as a git bundle: data read by the host, never a push from
 * inside the sandbox (which holds no credential).
 */
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { execInSandbox } from '../sandbox/exec.js';
import type { DeliverInput } from './deliver-input.js';

async function sandboxGit(docker: Docker, containerId: string, args: string[]): Promise<{ code: number; out: Buffer; err: string }> {
  const r = await execInSandbox(docker, containerId, ['git', ...args], { timeoutMs: 60_000 });
  return { code: r.exitCode, out: r.stdout, err: r.stderr.toString() };
}

async function must(docker: Docker, containerId: string, args: string[]): Promise<Buffer> {
  const r = await sandboxGit(docker, containerId, args);
  if (r.code !== 0) throw new Error(`git ${args[0]} in sandbox failed: ${r.err.trim()}`);
  return r.out;
}

/** Past this the fix is not delivered: no bug fix is that big, and the worker holds the bundle in memory. */
const MAX_DELIVERY_BUNDLE_BYTES = 100 * 1024 * 1024;

/** Commits leftovers, then returns the fix commits as a bundle (bytes) and the head sha. */
export async function exportCommits(docker: Docker, input: DeliverInput): Promise<{ bundle: Buffer; headSha: string }> {
  const id = input.containerId;
  await must(docker, id, ['add', '-A']);
  if ((await sandboxGit(docker, id, ['diff', '--cached', '--quiet'])).code !== 0) {
    await must(docker, id, ['commit', '-q', '-m', input.commitMessage]);
  }
  const headSha = (await must(docker, id, ['rev-parse', 'HEAD'])).toString().trim();
  const count = Number((await must(docker, id, ['rev-list', '--count', `${input.baseSha}..HEAD`])).toString().trim());
  if (count === 0) {
    throw ApplicationFailure.nonRetryable('the agent made no changes: nothing to deliver', 'NothingToDeliver');
  }
  await must(docker, id, ['bundle', 'create', '-q', '/tmp/fix.bundle', 'HEAD', `^${input.baseSha}`]);
  // Byte for byte, or a clear failure: a cut bundle would not fetch.
  const bundle = (await execInSandbox(docker, id, ['cat', '/tmp/fix.bundle'], { exactStdoutBytes: MAX_DELIVERY_BUNDLE_BYTES })).stdout;
  return { bundle, headSha };
}
