/**
 * Fork delivery: a project set to `delivery: { mode: 'fork' }` gets its fix pushed to the bot's
 * fork (created through the API, waited for) and a pull request on its own repository whose head
 * is `<bot>:fix/bug-*`; nothing is ever pushed to the project's repository. A delivery attempt
 * retried after the PR call's answer was lost finds the same fork, branch and PR. A refused fork
 * ends the fix with the reason and pushes nothing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { fileBug } from '../../src/intake/file-bug.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { updateProject } from '../../src/projects/project-store.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import type { Fault } from '../../dev/stand-ins/github-api.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };

describe('fork delivery', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-fork-delivery-'));
  const suffix = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    stack = await startStack({ script: paginationScenario, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function runFix(name: string, faults: Fault[] = []) {
    const key = `fork-${name}-${suffix}`;
    const { project, bare } = await createFixtureProject(stack.prisma, stack.github, { key, repo: name, dir: tmp, validation: {} });
    // Through the admin API's validation, as an operator would set it.
    await updateProject(stack.prisma, key, { delivery: { mode: 'fork' } });
    for (const f of faults) stack.github!.fault(f);
    const filed = await fileBug({ prisma: stack.prisma, temporal: stack.temporal, temporalUiUrl: 'http://localhost:8233' }, project, {
      ...sampleBug,
      priority: 'HIGH',
      source: 'test',
      externalId: `fork-${name}`,
    });
    const outcome = (await stack.temporal.workflow.getHandle(filed.workflowId).result()) as FixOutcome;
    const branches = execFileSync('git', ['for-each-ref', '--format=%(refname)', 'refs/heads'], { cwd: bare }).toString().trim();
    return { outcome, branches, bugId: filed.bugId };
  }

  const requested = (method: string, p: string) => stack.github!.requests.filter((r) => r.method === method && r.path === p);

  test('the fix goes to the bot fork, the PR to upstream from it; a retried attempt finds the same PR', async () => {
    // The PR is created but its answer lost, and Octokit's own two retries fail too: the activity
    // attempt fails and the next one must find the fork, its branch and the PR it opened.
    const pulls = '/acme/forked/pulls';
    const faults: Fault[] = [
      { pathPart: pulls, method: 'POST', status: 502, serveThenFail: true },
      { pathPart: pulls, method: 'POST', status: 502 },
      { pathPart: pulls, method: 'POST', status: 502 },
    ];
    const { outcome, branches, bugId } = await runFix('forked', faults);
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('pr_created');
    expect(outcome.pr).toMatchObject({ repository: 'bugfix-bot/forked', branch: expect.stringMatching(/^fix\/bug-/) as string });

    // Upstream: one PR whose head is the fork's branch, and no fix branch at all.
    expect(branches).toBe('refs/heads/main');
    const prs = stack.github!.pulls('acme', 'forked');
    expect(prs).toHaveLength(1);
    expect(prs[0]).toMatchObject({ head: outcome.pr!.branch, headOwner: 'bugfix-bot', base: 'main', state: 'open' });
    const listed = await fetch(`${stack.github!.url}/repos/acme/forked/pulls?head=bugfix-bot:${outcome.pr!.branch}`).then((r) => r.json());
    expect(listed).toMatchObject([{ number: prs[0]!.number, head: { label: `bugfix-bot:${outcome.pr!.branch}` } }]);

    // The fork has the fix, on the upstream's base commit.
    const fork = stack.github!.bareDir('bugfix-bot', 'forked')!;
    expect(execFileSync('git', ['show', `${outcome.pr!.branch}:src/paginate.js`], { cwd: fork }).toString()).toContain('(page - 1) * size');
    expect(execFileSync('git', ['log', '--format=%s', outcome.pr!.branch], { cwd: fork }).toString().trim().split('\n')).toHaveLength(2);

    // Two delivery attempts, one fork: created once, waited for (it answered 404 first), then found again.
    expect(requested('POST', '/repos/acme/forked/forks')).toHaveLength(1);
    expect(requested('GET', '/repos/bugfix-bot/forked').map((r) => r.status)).toEqual([404, 404, 200, 200]);
    expect(requested('POST', '/repos/acme/forked/pulls').length).toBeGreaterThanOrEqual(3);

    // The audit says where the branch went.
    const row = await stack.prisma.bugReport.findUniqueOrThrow({ where: { id: bugId } });
    expect(row).toMatchObject({ fixRepo: 'bugfix-bot/forked', fixBranch: outcome.pr!.branch, prNumber: prs[0]!.number });
  });

  test('a fork GitHub refuses to create ends the fix with the reason; nothing is pushed anywhere', async () => {
    const { outcome, branches } = await runFix('unforkable', [
      { pathPart: '/acme/unforkable/forks', method: 'POST', status: 403, message: 'Forking is disabled for this repository' },
    ]);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(
      /^delivery refused: could not fork acme\/unforkable into bugfix-bot: GitHub answered 403 \(Forking is disabled for this repository\)/,
    );
    expect(branches).toBe('refs/heads/main');
    expect(stack.github!.pulls('acme', 'unforkable')).toHaveLength(0);
    expect(stack.github!.bareDir('bugfix-bot', 'unforkable')).toBeUndefined();
    expect(requested('POST', '/repos/acme/unforkable/forks')).toHaveLength(1);
  });
});
