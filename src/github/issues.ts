/**
 * The GitHub issue operations the issue loop needs: who may ask (collaborator permission), and
 * comments that are written once and edited afterwards, found again by a hidden marker so that a
 * call retried after a lost answer never posts twice.
 */
import type { GitHubClient } from '../infra/github.js';

export interface RepoRef {
  owner: string;
  repo: string;
}

/** The person's permission as GitHub names its roles (role_name knows maintain and triage). */
export async function permissionOf(github: GitHubClient, r: RepoRef, login: string): Promise<string> {
  try {
    const { data } = await github.rest.repos.getCollaboratorPermissionLevel({ ...r, username: login });
    return (data as { role_name?: string }).role_name || data.permission;
  } catch (err) {
    // Not a collaborator (or no such user): no access, not an error.
    if ((err as { status?: number }).status === 404) return 'none';
    throw err;
  }
}

export async function findMarked(github: GitHubClient, r: RepoRef, issue: number, marker: string): Promise<{ id: number; body: string } | undefined> {
  for await (const page of github.paginate.iterator(github.rest.issues.listComments, { ...r, issue_number: issue, per_page: 100 })) {
    const hit = page.data.find((c) => c.body?.includes(marker));
    if (hit) return { id: hit.id, body: hit.body ?? '' };
  }
  return undefined;
}

/** Creates the comment that carries `marker`, or edits it when it is there and differs. */
export async function upsertMarkedComment(github: GitHubClient, r: RepoRef, issue: number, marker: string, body: string): Promise<number> {
  const existing = await findMarked(github, r, issue, marker);
  if (!existing) return (await github.rest.issues.createComment({ ...r, issue_number: issue, body })).data.id;
  if (existing.body !== body) await github.rest.issues.updateComment({ ...r, comment_id: existing.id, body });
  return existing.id;
}
