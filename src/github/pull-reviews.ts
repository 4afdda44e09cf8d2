/**
 * The pull request reads and writes of a follow-up round: the PR itself (state, head), its review
 * comments and reviews (every page), and replies in a review thread, written once per marker so a
 * retried call never answers twice.
 */
import type { GitHubClient } from '../infra/github.js';
import type { Review, ReviewComment } from '../domain/github/review-threads.js';
import type { RepoRef } from './issues.js';

export async function pullState(github: GitHubClient, r: RepoRef, prNumber: number) {
  const { data } = await github.rest.pulls.get({ ...r, pull_number: prNumber });
  const headRepo = data.head.repo ? { fullName: data.head.repo.full_name, cloneUrl: data.head.repo.clone_url } : null;
  return { state: data.state, merged: !!data.merged, headSha: data.head.sha, headRef: data.head.ref, headRepo };
}

export async function reviewComments(github: GitHubClient, r: RepoRef, prNumber: number): Promise<ReviewComment[]> {
  return (await github.paginate(github.rest.pulls.listReviewComments, { ...r, pull_number: prNumber, per_page: 100 })) as ReviewComment[];
}

export async function reviews(github: GitHubClient, r: RepoRef, prNumber: number): Promise<Review[]> {
  return (await github.paginate(github.rest.pulls.listReviews, { ...r, pull_number: prNumber, per_page: 100 })) as Review[];
}

/** Replies in the thread of `rootId` unless a reply with `marker` is there already. */
export async function replyInThread(
  github: GitHubClient,
  r: RepoRef,
  prNumber: number,
  rootId: number,
  marker: string,
  body: string,
  existing: readonly ReviewComment[],
): Promise<void> {
  if (existing.some((c) => c.body.includes(marker))) return;
  await github.rest.pulls.createReplyForReviewComment({ ...r, pull_number: prNumber, comment_id: rootId, body: `${body}\n\n${marker}` });
}
