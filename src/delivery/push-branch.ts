/** The host's push of a fix branch: one gated commit of the agent's tree on the base, never forced. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sanitizeForGitHub } from '../domain/fix/pull-request.js';
import { git } from '../infra/git.js';
import { unbundleChecked } from '../infra/git-bundle.js';
import { throwIfCancelled } from '../temporal/activity-heartbeat.js';
import type { DeliverDeps, DeliverInput } from './deliver-input.js';
import { scopeGate } from './scope-gate.js';

const DEFAULT_COMMIT_IDENTITY = { name: 'bugfix-service', email: 'bugfix-service@noreply.invalid' };

/**
 * Fetches the base, reads the agent's commits in (fsck'd), gates the tree they end at, and pushes
 * ONE commit of that tree on the base, by the service, with the workflow's sanitised message: the
 * agent's intermediate commits, their messages (`[skip ci]`, closing keywords, @mentions) and
 * their authors never leave the host, and what is pushed is exactly what the gate checked.
 */
export async function pushBranch(deps: DeliverDeps, input: DeliverInput, bundle: Buffer, to: PushTarget = { url: input.cloneUrl }): Promise<string> {
  const token = await deps.gitToken?.();
  const dir = path.join(deps.workDir, input.workflowId.replace(/[^A-Za-z0-9._-]/g, '_'), 'deliver');
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  await git(['init', '-q', '--bare', dir]);
  // The bundle's prerequisite (the base commit) must exist locally: fetch it from the remote (a
  // round's base is the PR branch, which lives where it is pushed to: a fork in fork delivery).
  const baseFrom = input.followUp ? to.url : input.cloneUrl;
  await git(['fetch', '-q', '--', baseFrom, `refs/heads/${input.baseBranch ?? input.defaultBranch}`], { cwd: dir, token });
  const agentTip = await unbundleChecked(dir, bundle);
  const tree = (await git(['rev-parse', `${agentTip}^{tree}`], { cwd: dir })).trim();
  await scopeGate(deps, input, dir, tree);
  const remoteHead = (await git(['ls-remote', '--', to.url, `refs/heads/${input.branch}`], { token })).split(/\s/)[0];
  if (remoteHead) {
    // An earlier attempt pushed (its commit differs only in its date): the same tree on the same base is done.
    await git(['fetch', '-q', '--', to.url, `refs/heads/${input.branch}`], { cwd: dir, token });
    const [pushedTree, pushedParent] = (await git(['show', '-s', '--format=%T %P', remoteHead], { cwd: dir })).trim().split(' ');
    if (pushedTree === tree && pushedParent === input.baseSha) return remoteHead;
    // A round adds to the head it started from; someone else's push since is not overwritten (nor merged blindly).
    if (input.followUp && remoteHead !== input.baseSha) {
      throw ApplicationFailure.nonRetryable(
        `${input.branch} moved to ${remoteHead.slice(0, 12)} while the round ran (it started from ${input.baseSha.slice(0, 12)}): nothing pushed; the next round starts from the new head`,
        'BranchMoved',
      );
    }
  } else if (input.followUp) {
    throw ApplicationFailure.nonRetryable(`${input.branch} no longer exists: nothing pushed`, 'BranchMoved');
  }
  const identity = deps.commitIdentity ?? DEFAULT_COMMIT_IDENTITY;
  const commit = (
    await git(['-c', `user.name=${identity.name}`, '-c', `user.email=${identity.email}`, 'commit-tree', tree, '-p', input.baseSha, '-F', '-'], {
      cwd: dir,
      input: Buffer.from(commitMessage(input)),
    })
  ).trim();
  throwIfCancelled(); // nothing is pushed or opened once the fix was stopped
  // Never force: a branch moved by someone else is not ours to overwrite. A fork lacking the
  // upstream's newer commits gets them with this push: git sends what the remote does not have.
  await git(['push', '-q', '--', to.url, `${commit}:refs/heads/${input.branch}`], { cwd: dir, token });
  await fs.rm(dir, { recursive: true, force: true });
  return commit;
}

/** Where the fix branch is pushed: the project's clone URL, or its fork's. */
export interface PushTarget {
  url: string;
}

/** The pushed commit's message: the workflow's (already sanitised) subject, sanitised again here, and where it came from. */
function commitMessage(input: DeliverInput): string {
  return `${sanitizeForGitHub(input.commitMessage.split('\n')[0]!).slice(0, 200)}\n\nProposed by the bug-fixing service for bug ${input.bugId}.\n`;
}
