/**
 * GitHub App authentication through the real @octokit/auth-app: the app's JWT is verified by the
 * stand-in with the app's public key, an installation token is minted, REST calls carry it, and
 * git on the host gets the same token.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createGitHubAccess } from '../../src/infra/github.js';
import { startGitHubStandIn, type GitHubStandIn } from '../../dev/stand-ins/github-api.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const app = { appId: '123456', installationId: 777 };
let github: GitHubStandIn;

beforeAll(async () => {
  github = await startGitHubStandIn({ app: { ...app, publicKey } });
  github.addRepo('acme', 'app-repo', '/nonexistent');
});
afterAll(() => github.close());

describe('GitHub App installation auth', () => {
  test('REST calls and git use a minted installation token', async () => {
    const access = createGitHubAccess({ app: { ...app, privateKey }, baseUrl: github.url });
    const { data } = await access.client.rest.pulls.list({ owner: 'acme', repo: 'app-repo', state: 'open' });
    expect(data).toEqual([]);
    const minted = github.requests.find((r) => r.path === `/app/installations/${app.installationId}/access_tokens`);
    expect(minted?.status).toBe(201);
    const token = await access.gitToken();
    expect(token).toMatch(/^ghs_installation_/);
    expect(github.requests.filter((r) => r.path.endsWith('/pulls')).map((r) => r.authorization)).toEqual([`token ${token}`]);
  });

  test('a key the app does not own is refused', async () => {
    const { privateKey: otherKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const access = createGitHubAccess({ app: { ...app, privateKey: otherKey }, baseUrl: github.url });
    await expect(access.client.rest.pulls.list({ owner: 'acme', repo: 'app-repo' })).rejects.toMatchObject({ status: 401 });
  });
});
