/** Octokit with retries and rate-limit handling; base URL and token are configuration. */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';

const GitHub = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof GitHub>;

export function createGitHub(opts: { token?: string; baseUrl: string }): GitHubClient {
  return new GitHub({
    auth: opts.token,
    baseUrl: opts.baseUrl,
    userAgent: 'bugfix-service',
    throttle: {
      onRateLimit: (_retryAfter, _options, _octokit, retryCount) => retryCount < 2,
      onSecondaryRateLimit: (_retryAfter, _options, _octokit, retryCount) => retryCount < 1,
    },
    retry: { retries: 2 },
  });
}
