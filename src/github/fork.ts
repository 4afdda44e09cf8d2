/**
 * The bot's fork of a project's repository, for fork delivery: found, or created through the API
 * and waited for (GitHub creates forks asynchronously). Nothing here pushes; the caller pushes the
 * fix branch to the fork's clone URL, and git sends whatever objects the fork lacks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { forkPollDelaysMs, forkRefusal, type RepoFacts } from '../domain/fix/fork.js';
import { permanentGitHubRefusal, type GitHubClient } from '../infra/github.js';
import type { RepoRef } from './issues.js';

export interface ForkTarget {
  owner: string;
  name: string;
  /** owner/name, as the audit records it */
  fullName: string;
  /** where git pushes the fix branch */
  cloneUrl: string;
}

/** A fork that cannot be used or made, whatever a retry does: the fix ends with this reason. */
export class ForkRefused extends Error {
  override name = 'ForkRefused';
}

interface ForkOptions {
  /** the configured fork owner; absent = the account the credential belongs to */
  forkOwner?: string;
  signal?: AbortSignal;
  /** waits between polls while GitHub creates the fork */
  pollDelaysMs?: number[];
}

const status = (err: unknown) => (err as { status?: number }).status;

async function authenticatedLogin(github: GitHubClient, signal?: AbortSignal): Promise<string> {
  try {
    return (await github.rest.users.getAuthenticated({ request: { signal } })).data.login;
  } catch (err) {
    // A GitHub App's installation token is no user: it cannot say whose fork to use.
    const refusal = permanentGitHubRefusal(err);
    if (refusal) throw new ForkRefused(`fork delivery needs delivery.forkOwner with this credential (${refusal})`);
    throw err;
  }
}

async function repoOrNull(github: GitHubClient, owner: string, repo: string, signal?: AbortSignal) {
  try {
    return (await github.rest.repos.get({ owner, repo, request: { signal } })).data;
  } catch (err) {
    if (status(err) === 404) return null;
    throw err;
  }
}

function target(repo: RepoFacts & { name: string; owner: { login: string }; clone_url: string }, upstream: string): ForkTarget {
  const refusal = forkRefusal(repo, upstream);
  if (refusal) throw new ForkRefused(refusal);
  return { owner: repo.owner.login, name: repo.name, fullName: repo.full_name, cloneUrl: repo.clone_url };
}

/** The fork of `upstream` under the fork owner, created if missing; refusals that retrying cannot change are ForkRefused. */
export async function ensureFork(github: GitHubClient, upstream: RepoRef, opts: ForkOptions = {}): Promise<ForkTarget> {
  const { signal } = opts;
  const upstreamName = `${upstream.owner}/${upstream.repo}`;
  const owner = opts.forkOwner ?? (await authenticatedLogin(github, signal));
  if (owner.toLowerCase() === upstream.owner.toLowerCase()) {
    throw new ForkRefused(`the fork owner ${owner} owns ${upstreamName} itself: fork delivery needs another account`);
  }
  const existing = await repoOrNull(github, owner, upstream.repo, signal);
  if (existing) return target(existing, upstreamName);

  // GitHub forks into the credential's own account unless told an organization.
  const self = opts.forkOwner ? await authenticatedLogin(github, signal).catch(() => undefined) : owner;
  const organization = self?.toLowerCase() === owner.toLowerCase() ? undefined : owner;
  let created;
  signal?.throwIfAborted(); // a stopped fix creates nothing on GitHub
  try {
    created = (await github.rest.repos.createFork({ ...upstream, organization, default_branch_only: true, request: { signal } })).data;
  } catch (err) {
    const refusal = permanentGitHubRefusal(err);
    if (refusal) throw new ForkRefused(`could not fork ${upstreamName} into ${owner}: ${refusal}`);
    throw err;
  }
  // The answer names the fork (GitHub may pick another name); it is usable once it answers.
  for (const delay of opts.pollDelaysMs ?? forkPollDelaysMs()) {
    const ready = await repoOrNull(github, created.owner.login, created.name, signal);
    if (ready) return target(ready, upstreamName);
    await sleep(delay, undefined, { signal });
  }
  const late = await repoOrNull(github, created.owner.login, created.name, signal);
  if (late) return target(late, upstreamName);
  throw new Error(`GitHub has not finished creating the fork ${created.full_name} yet`);
}
