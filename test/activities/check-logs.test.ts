/**
 * A failed check's log through the real Octokit client against the GitHub stand-in: a check
 * run's output plus its Actions job log (served behind a redirect, as GitHub does), and a
 * workflow run's failed jobs only.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expandSuites, failedCheckLog } from '../../src/github/check-logs.js';
import { currentFailures } from '../../src/domain/github/check-feedback.js';
import { createGitHubAccess, type GitHubClient } from '../../src/infra/github.js';
import { startGitHubStandIn, type GitHubStandIn } from '../../dev/stand-ins/github-api.js';

let github: GitHubStandIn;
let client: GitHubClient;
const r = { owner: 'acme', repo: 'checks' };

beforeAll(async () => {
  github = await startGitHubStandIn({ token: 'ghp_checks' });
  client = createGitHubAccess({ token: 'ghp_checks', baseUrl: github.url }).client;
  github.addRepo('acme', 'checks', '/nonexistent');
});
afterAll(() => github.close());

const run = (over: Partial<Parameters<GitHubStandIn['addCheckRun']>[2]>) =>
  github.addCheckRun('acme', 'checks', {
    name: 'test',
    headSha: 'a'.repeat(40),
    conclusion: 'failure',
    app: 'github-actions',
    output: { title: '2 failed', summary: 'see the log', text: null },
    ...over,
  }) as { id: number };

describe('failed check logs', () => {
  test("a check run: its output and its Actions job's log", async () => {
    const { id } = run({ log: 'not ok 1 - page 1 starts with apple\n# fail 1' });
    const log = await failedCheckLog(client, r, { source: 'check_run', id, name: 'test', headSha: 'a'.repeat(40), conclusion: 'failure' });
    expect(log).toEqual({ name: 'test', conclusion: 'failure', log: '2 failed\n\nsee the log\n\nnot ok 1 - page 1 starts with apple\n# fail 1' });
  });

  test("another app's check run: its output only", async () => {
    const { id } = run({ app: 'codecov', output: { title: 'coverage dropped', summary: null, text: '-2%' }, log: 'never fetched' });
    const log = await failedCheckLog(client, r, { source: 'check_run', id, name: 'test', headSha: 'a'.repeat(40), conclusion: 'failure' });
    expect(log.log).toBe('coverage dropped\n\n-2%');
  });

  test('a check suite is read as its failed runs, so a run reported on its own as well is read once', async () => {
    const head = 'b'.repeat(40);
    run({ suiteId: 9, name: 'lint', conclusion: 'success', headSha: head });
    const { id } = run({ suiteId: 9, name: 'unit', headSha: head, log: 'AssertionError: expected 3' });
    const asRun = { source: 'check_run' as const, id, name: 'unit', headSha: head, conclusion: 'failure' };
    const suite = { source: 'check_suite' as const, id: 9, name: 'GitHub Actions', headSha: head, conclusion: 'failure' };
    expect(await expandSuites(client, r, [suite])).toEqual([asRun]);
    expect(currentFailures(await expandSuites(client, r, [asRun, suite]), head)).toEqual([asRun]);
    // A suite whose runs GitHub will not list stays, and says so in place of a log.
    const unknown = { ...suite, id: 404 };
    expect(await expandSuites(client, { owner: 'acme', repo: 'missing' }, [unknown])).toEqual([unknown]);
    expect((await failedCheckLog(client, r, unknown)).log).toContain('could not be read');
  });

  test("a workflow run: each failed job's log, not the passing ones'", async () => {
    run({ runId: 77, name: 'lint', conclusion: 'success', log: 'all good' });
    run({ runId: 77, name: 'unit', log: 'AssertionError: expected 2' });
    const log = await failedCheckLog(client, r, { source: 'workflow_run', id: 77, name: 'CI', headSha: 'a'.repeat(40), conclusion: 'failure' });
    expect(log).toEqual({ name: 'CI', conclusion: 'failure', log: '== job unit (failure) ==\nAssertionError: expected 2' });
  });
});
