/**
 * After the PR exists, its labels and the issue's link comment through the real Octokit client
 * against the GitHub stand-in: failures there are logged, never the fix's failure, and the
 * comment is posted once even when GitHub's answer is lost or the issue has many pages.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labelAndLink } from '../../src/github/pull-request-delivery.js';
import type { DeliverInput } from '../../src/delivery/deliver-input.js';
import { createGitHubAccess, type GitHubClient } from '../../src/infra/github.js';
import { startGitHubStandIn, type GitHubStandIn } from '../../dev/stand-ins/github-api.js';

let github: GitHubStandIn;
let client: GitHubClient;
let n = 0;

beforeAll(async () => {
  github = await startGitHubStandIn({ token: 'ghp_links' });
  client = createGitHubAccess({ token: 'ghp_links', baseUrl: github.url }).client;
});
afterAll(() => github.close());

/** A repository of its own per test; the PR is #1, the report's issue #42. */
function setup() {
  const name = `links-${++n}`;
  github.addRepo('acme', name, '/nonexistent');
  const input = {
    workflowId: `bugfix-${name}`,
    repoName: name,
    repoOwner: 'acme',
    labels: ['bugfix', 'automated'],
    githubIssueNumber: 42,
    bugId: name,
  } as DeliverInput;
  const pr = { url: `${github.url}/acme/${name}/pull/1`, number: 1, branch: `fix/bug-${name}` };
  return { name, input, pr, comments: () => github.comments('acme', name, 42) };
}

describe('labels and the issue link once the PR exists', () => {
  test('a refused label does not fail delivery; the issue is still linked', async () => {
    const { name, input, pr, comments } = setup();
    github.fault({ pathPart: `/${name}/issues/1/labels`, method: 'POST', status: 422, message: 'Validation Failed' });
    await expect(labelAndLink(client, input, pr)).resolves.toBeUndefined();
    expect(github.labels('acme', name, 1)).toEqual([]);
    expect(comments()).toEqual([`A fix is proposed in #1.\n\n<!-- bugfix:bugfix-${name} -->`]);
  });

  test('a comment GitHub refuses does not fail delivery; the labels are set', async () => {
    const { name, input, pr, comments } = setup();
    github.fault({ pathPart: `/${name}/issues/42/comments`, method: 'POST', status: 403, message: 'Resource not accessible by integration' });
    await expect(labelAndLink(client, input, pr)).resolves.toBeUndefined();
    expect(github.labels('acme', name, 1)).toEqual(['bugfix', 'automated']);
    expect(comments()).toEqual([]);
  });

  test('a 502 after GitHub saved the comment does not post it twice', async () => {
    const { name, input, pr, comments } = setup();
    github.fault({ pathPart: `/${name}/issues/42/comments`, method: 'POST', status: 502, serveThenFail: true });
    await labelAndLink(client, input, pr);
    expect(comments()).toHaveLength(1);
    // A retried delivery finds it too.
    await labelAndLink(client, input, pr);
    expect(comments()).toHaveLength(1);
  });

  test('a 502 before anything was saved is posted once on the second try', async () => {
    const { name, input, pr, comments } = setup();
    github.fault({ pathPart: `/${name}/issues/42/comments`, method: 'POST', status: 502 });
    await labelAndLink(client, input, pr);
    expect(comments()).toHaveLength(1);
  });

  test('the marker is found past the first hundred comments', async () => {
    const { name, input, pr, comments } = setup();
    for (let i = 0; i < 150; i++) github.addComment('acme', name, 42, `+1 from user ${i}`);
    github.addComment('acme', name, 42, `A fix is proposed in #1.\n\n<!-- bugfix:bugfix-${name} -->`);
    await labelAndLink(client, input, pr);
    expect(comments()).toHaveLength(151);
  });
});
