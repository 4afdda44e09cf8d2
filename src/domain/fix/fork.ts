/**
 * Fork delivery: the fix branch goes to a fork the bot owns and the pull request is opened from
 * there, so the upstream repository's CI never runs agent-written code with the upstream's secrets
 * before a person has looked at it (GitHub runs a fork's pull_request workflows without them and,
 * with the repository's approval setting, only once a maintainer approves).
 * These are the pure rules around it; the GitHub calls live in src/github/fork.ts.
 */

/** branch: `fix/bug-*` in the repository itself (the default); fork: in a bot-owned fork. */
export const DELIVERY_MODES = ['branch', 'fork'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** A GitHub user or organization name: letters, digits and single inner dashes, at most 39. */
export const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export interface DeliverySettings {
  mode: DeliveryMode;
  /** the account the fork lives under; absent = the account the credential belongs to */
  forkOwner?: string;
}

/** What the repository API answers, as far as fork delivery reads it. */
export interface RepoFacts {
  full_name: string;
  fork?: boolean;
  parent?: { full_name: string } | null;
}

/**
 * Why `repo` must not receive the fix, or null when it is a fork of `upstream` (`owner/name`).
 * A same-named repository that is not that fork would get agent code pushed into someone's
 * unrelated project, or into the upstream itself.
 */
export function forkRefusal(repo: RepoFacts, upstream: string): string | null {
  const name = repo.full_name.toLowerCase();
  if (name === upstream.toLowerCase()) return `${repo.full_name} is the upstream repository itself, not a fork`;
  if (!repo.fork) return `${repo.full_name} exists and is not a fork of ${upstream}; set delivery.forkOwner to another account`;
  if (repo.parent?.full_name.toLowerCase() !== upstream.toLowerCase()) {
    return `${repo.full_name} is a fork of ${repo.parent?.full_name ?? 'another repository'}, not of ${upstream}`;
  }
  return null;
}

/** The `head` of a cross-repository pull request: `<fork owner>:<branch>`. */
export function pullRequestHead(headOwner: string, branch: string): string {
  return `${headOwner}:${branch}`;
}

/**
 * Waits between polls for a fork GitHub creates asynchronously ("may take up to 5 minutes"):
 * 1 s doubling to 30 s, about six minutes in all. Past them the attempt fails and Temporal retries.
 */
export function forkPollDelaysMs(totalMs = 6 * 60_000): number[] {
  const delays: number[] = [];
  let next = 1000;
  for (let sum = 0; sum + next <= totalMs; sum += next, next = Math.min(next * 2, 30_000)) delays.push(next);
  return delays;
}
