/**
 * Octokit with retries and rate-limit handling; base URL and credentials are configuration.
 * Two ways to authenticate: a token (GITHUB_TOKEN), or a GitHub App installation
 * (@octokit/auth-app: installation tokens are minted and refreshed on demand). Either way git on
 * the worker host gets the same credential through `gitToken()`, never the sandbox.
 */
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';

const GitHub = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof GitHub>;

export interface GitHubAppCredentials {
  appId: string;
  privateKey: string;
  installationId: number;
}

export interface GitHubAccess {
  client: GitHubClient;
  /** the credential for git clone/push on the host, fresh when it is an installation token */
  gitToken: () => Promise<string | undefined>;
}

const common = (baseUrl: string) => ({
  baseUrl,
  userAgent: 'bugfix-service',
  throttle: {
    onRateLimit: (_retryAfter: number, _options: object, _octokit: unknown, retryCount: number) => retryCount < 2,
    onSecondaryRateLimit: (_retryAfter: number, _options: object, _octokit: unknown, retryCount: number) => retryCount < 1,
  },
  retry: { retries: 2 },
});

export function createGitHubAccess(opts: { token?: string; app?: GitHubAppCredentials; baseUrl: string }): GitHubAccess {
  if (opts.app) {
    const client = new GitHub({ ...common(opts.baseUrl), authStrategy: createAppAuth, auth: { ...opts.app } });
    return { client, gitToken: async () => ((await client.auth({ type: 'installation' })) as { token: string }).token };
  }
  const client = new GitHub({ ...common(opts.baseUrl), auth: opts.token });
  return { client, gitToken: async () => opts.token };
}

const REFUSAL_HINTS: Record<number, string> = {
  401: 'the credential is invalid or expired',
  403: 'the credential lacks permission for this repository',
  404: 'the repository does not exist or the credential cannot see it',
  422: 'GitHub rejected the request as invalid',
};

/**
 * Why GitHub refused a request for good (401/403/404/422), or null when retrying may help: 5xx,
 * network errors, and rate limits (a 403 or 429 that says so in its headers or message).
 */
export function permanentGitHubRefusal(err: unknown): string | null {
  const e = err as { status?: unknown; message?: unknown; response?: { headers?: Record<string, unknown> } };
  if (typeof e.status !== 'number' || !(e.status in REFUSAL_HINTS)) return null;
  const headers = e.response?.headers ?? {};
  const message = typeof e.message === 'string' ? e.message : '';
  const rateLimited = headers['x-ratelimit-remaining'] === '0' || headers['retry-after'] !== undefined || /rate limit/i.test(message);
  if (e.status === 403 && rateLimited) return null;
  return `GitHub answered ${e.status} (${message.split(' - ')[0]!.slice(0, 200)}): ${REFUSAL_HINTS[e.status]}`;
}
