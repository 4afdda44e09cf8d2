/**
 * The bot's fork, through the real Octokit client against the GitHub stand-in: created into the
 * credential's account or the named organization and waited for, found again without a second
 * creation, and refused (ForkRefused: the fix ends with the reason) when the repository under that
 * name is not a fork of the project's, when the fork owner is the project's owner, or when the
 * credential is no user and no fork owner is set.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createBareRemote } from '../../dev/fixture-remotes.js';
import { startGitHubStandIn, type GitHubStandIn } from '../../dev/stand-ins/github-api.js';
import { ensureFork, ForkRefused } from '../../src/github/fork.js';
import { createGitHubAccess, type GitHubClient } from '../../src/infra/github.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-ensure-fork-'));
let github: GitHubStandIn;
let client: GitHubClient;
let n = 0;

beforeAll(async () => {
  github = await startGitHubStandIn({ token: 'ghp_fork', forkPendingPolls: 2 });
  client = createGitHubAccess({ token: 'ghp_fork', baseUrl: github.url }).client;
});
afterAll(async () => {
  await github.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function upstream() {
  const name = `shop-${++n}`;
  github.addRepo('acme', name, createBareRemote('pagination', path.join(tmp, `${name}.git`)));
  return { owner: 'acme', repo: name };
}
const fast = { pollDelaysMs: [10, 10, 10] };
const calls = (method: string, p: string) => github.requests.filter((r) => r.method === method && r.path === p).length;

describe('the bot fork', () => {
  test("created into the credential's account, waited for, then found again", async () => {
    const up = upstream();
    const fork = await ensureFork(client, up, fast);
    expect(fork).toMatchObject({ owner: 'bugfix-bot', name: up.repo, fullName: `bugfix-bot/${up.repo}` });
    expect(fs.existsSync(path.join(fork.cloneUrl, 'HEAD'))).toBe(true);
    expect(await ensureFork(client, up, fast)).toEqual(fork);
    expect(calls('POST', `/repos/acme/${up.repo}/forks`)).toBe(1);
  });

  test('into the organization delivery.forkOwner names', async () => {
    const up = upstream();
    expect(await ensureFork(client, up, { ...fast, forkOwner: 'acme-bots' })).toMatchObject({ fullName: `acme-bots/${up.repo}` });
  });

  test('a fork that is still being created after every poll is a retryable error, not a refusal', async () => {
    const up = upstream();
    const err: unknown = await ensureFork(client, up, { pollDelaysMs: [] }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ForkRefused);
    expect((err as Error).message).toMatch(/has not finished creating the fork bugfix-bot\/shop-\d+ yet/);
  });

  test('refusals: not a fork, the upstream owner itself, a credential that is no user', async () => {
    const up = upstream();
    github.addRepo('bugfix-bot', up.repo, createBareRemote('pagination', path.join(tmp, `unrelated-${up.repo}.git`)));
    await expect(ensureFork(client, up, fast)).rejects.toThrow(
      new ForkRefused(`bugfix-bot/${up.repo} exists and is not a fork of acme/${up.repo}; set delivery.forkOwner to another account`),
    );
    await expect(ensureFork(client, up, { ...fast, forkOwner: 'ACME' })).rejects.toThrow(/the fork owner ACME owns acme\/shop-\d+ itself/);
    github.fault({ pathPart: '/user', method: 'GET', status: 403, message: 'Resource not accessible by integration' });
    await expect(ensureFork(client, upstream(), fast)).rejects.toThrow(
      /^fork delivery needs delivery.forkOwner with this credential \(GitHub answered 403 \(Resource not accessible by integration\)/,
    );
  });
});
