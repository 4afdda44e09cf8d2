/**
 * Delivery, exactly once: whatever GitHub does on the PR call (a 5xx, a lost response then 422
 * "already exists", a secondary rate limit with retry-after) or on the issue's comment (a lost
 * response), one PR, one comment and one notification per channel. The scope gate refuses a diff that touches .env before anything is pushed.
 */
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { fileBug } from '../../src/intake/file-bug.js';
import { fixDetail } from '../../src/fixes/fix-detail.js';
import { statusText } from '../../src/cli/format.js';
import { statusQuery } from '../../workflows/bug-fix/messages.js';
import { createBareRemote, createFixtureProject } from '../../dev/fixture-remotes.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';
import type { Fault } from '../../dev/stand-ins/github-api.js';
import { startNotificationStandIns, type NotificationStandIns } from '../../dev/stand-ins/notifications.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };

const WEBHOOK_SECRET = 'whsec_0123456789abcdef';

/** Commits a .env file, then declares victory: the scope gate must stop it. */
const leakyScript: ModelScript = (_req, turn) =>
  turn === 0
    ? [{ type: 'tool_use', name: 'run_command', input: { command: "echo 'API_KEY=oops' > .env && git add -A && git commit -qm 'config'" } }]
    : [{ type: 'tool_use', name: 'task_complete', input: { summary: 'added config' } }];

describe('delivery', () => {
  let stack: Stack;
  let notifications: NotificationStandIns;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-delivery-'));
  const suffix = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    notifications = await startNotificationStandIns();
    Object.assign(process.env, {
      SMTP_URL: notifications.smtpUrl,
      EMAIL_FROM: 'Bugfix <bugfix@test.local>',
      TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
      TWILIO_AUTH_TOKEN: 'twilio-test-token',
      TWILIO_WHATSAPP_FROM: '+15550000000',
      TWILIO_API_URL: notifications.http.url,
    });
    stack = await startStack({ script: paginationScenario, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    await notifications?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function runFix(
    name: string,
    opts: {
      fault?: Fault;
      faults?: Fault[];
      script?: ModelScript;
      validation?: Record<string, string>;
      whileRunning?: (workflowId: string) => Promise<void>;
    } = {},
  ) {
    stack.anthropic!.setScript(opts.script ?? paginationScenario);
    const { project, bare } = await createFixtureProject(stack.prisma, stack.github, {
      key: `dlv-${name}-${suffix}`,
      repo: name,
      dir: tmp,
      validation: opts.validation,
    });
    await stack.prisma.project.update({
      where: { id: project.id },
      data: {
        prDraft: true,
        prLabels: ['bugfix', 'automated'],
        notifications: {
          slack: { webhookUrl: `${notifications.http.url}/slack/T000/B000/${name}` },
          email: { to: [`team-${name}@shop.example`] },
          whatsapp: { to: ['+15551234567'] },
          webhook: { url: `${notifications.http.url}/hooks/${name}`, secret: WEBHOOK_SECRET },
        },
      },
    });
    for (const f of opts.faults ?? (opts.fault ? [opts.fault] : [])) stack.github!.fault(f);
    const filed = await fileBug({ prisma: stack.prisma, temporal: stack.temporal, temporalUiUrl: 'http://localhost:8233' }, project, {
      ...sampleBug,
      priority: 'HIGH',
      source: 'test',
      externalId: `dlv-${name}`,
    });
    await stack.prisma.bugReport.update({ where: { id: filed.bugId }, data: { githubIssueNumber: 42 } });
    const handle = stack.temporal.workflow.getHandle(filed.workflowId);
    await opts.whileRunning?.(filed.workflowId);
    return { outcome: (await handle.result()) as FixOutcome, bare, handle, workflowId: filed.workflowId };
  }

  function expectOneNoticePerChannel(name: string, event: string) {
    expect(notifications.slack.filter((r) => r.path.endsWith(`/${name}`))).toHaveLength(1);
    expect(notifications.mails.filter((m) => m.to.includes(`team-${name}@shop.example`))).toHaveLength(1);
    const hooks = notifications.hooks.filter((r) => r.path === `/hooks/${name}`);
    expect(hooks).toHaveLength(1);
    const [hook] = hooks;
    const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${hook!.headers['x-bugfix-timestamp']}.${hook!.raw}`).digest('hex');
    expect(hook!.headers['x-bugfix-signature']).toBe(`sha256=${expected}`);
    expect(hook!.body).toMatchObject({ event, projectKey: `dlv-${name}-${suffix}` });
  }

  const cases: Array<[string, Fault]> = [
    ['server-error', { pathPart: '/pulls', method: 'POST', status: 502 }],
    ['lost-response', { pathPart: '/pulls', method: 'POST', status: 502, serveThenFail: true }],
    ['rate-limited', { pathPart: '/pulls', method: 'POST', status: 403, retryAfterSeconds: 1, message: 'You have exceeded a secondary rate limit' }],
    // GitHub saved the issue's comment, then the answer was lost: it is not posted twice.
    ['comment-lost', { pathPart: '/acme/comment-lost/issues/42/comments', method: 'POST', status: 502, serveThenFail: true }],
  ];

  test.each(cases)('one PR and one notice per channel when delivery hits %s', async (name, fault) => {
    const twilioBefore = notifications.twilio.length;
    const { outcome, bare, workflowId } = await runFix(name, { fault });
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('pr_created');
    const pulls = stack.github!.pulls('acme', name);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ draft: true, base: 'main', head: outcome.pr!.branch });
    expect(pulls[0]!.body).toContain('Fixes #42');
    expect(stack.github!.labels('acme', name, pulls[0]!.number)).toEqual(['bugfix', 'automated']);
    expect(stack.github!.comments('acme', name, 42)).toHaveLength(1);
    // The default branch is untouched; the fix branch carries the fix.
    expect(execFileSync('git', ['log', '--format=%s', 'main'], { cwd: bare }).toString().trim()).toBe('Initial commit');
    expect(execFileSync('git', ['show', `${outcome.pr!.branch}:src/paginate.js`], { cwd: bare }).toString()).toContain('(page - 1) * size');

    expectOneNoticePerChannel(name, 'pr_opened');
    const whatsapp = notifications.twilio.slice(twilioBefore);
    expect(whatsapp).toHaveLength(1);
    expect(whatsapp[0]!.body).toMatchObject({ To: 'whatsapp:+15551234567', From: 'whatsapp:+15550000000' });
    expect(String(whatsapp[0]!.body.Body)).toContain(outcome.pr!.url);
    expect(await stack.prisma.notificationDelivery.count({ where: { workflowId } })).toBe(4);
  });

  test('the scope gate refuses a diff touching .env before push, with a safety event', async () => {
    const { outcome, bare, handle, workflowId } = await runFix('leaky', { script: leakyScript, validation: {} });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/^scope gate refused the fix before push: changes forbidden paths: \.env/);
    expect((await handle.query(statusQuery)).outcome?.reason).toBe(outcome.reason);
    expect(execFileSync('git', ['branch', '--list'], { cwd: bare }).toString().trim()).toBe('* main');
    expect(stack.github!.pulls('acme', 'leaky')).toHaveLength(0);
    const events = await stack.prisma.safetyEvent.findMany({ where: { workflowId, kind: 'scope_violation' } });
    expect(events).toHaveLength(1);
    expectOneNoticePerChannel('leaky', 'fix_failed');
  });

  test('GitHub answering 404 (repository missing, token without access) ends the fix at once with the reason', async () => {
    const started = Date.now();
    const fault: Fault = { pathPart: '/acme/gone/pulls', method: 'GET', status: 404, message: 'Not Found' };
    const { outcome } = await runFix('gone', { fault, validation: {} });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/^delivery refused: GitHub answered 404 \(Not Found\): the repository does not exist or the credential cannot see it/);
    // One attempt: no ten retries over minutes while the fix only says "delivering".
    expect(stack.github!.requests.filter((r) => r.path === '/repos/acme/gone/pulls')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(90_000);
  });

  test('while delivery retries, bugfix status shows the last error', async () => {
    const pulls = '/acme/flaky/pulls';
    // Octokit retries a 502 twice itself: three make one failed attempt; the next attempt is held.
    const faults: Fault[] = [
      ...Array.from({ length: 3 }, (): Fault => ({ pathPart: pulls, method: 'POST', status: 502, message: 'Bad Gateway' })),
      { pathPart: pulls, method: 'POST', holdMs: 20_000 },
    ];
    let seen = '';
    const { outcome } = await runFix('flaky', {
      faults,
      validation: {},
      whileRunning: async (workflowId) => {
        const deadline = Date.now() + 120_000;
        while (Date.now() < deadline && stack.github!.held() === 0) await new Promise((r) => setTimeout(r, 250));
        const d = await fixDetail(stack, workflowId);
        expect(d.retrying).toEqual([{ activity: 'deliverFix', attempt: 2, lastError: expect.stringMatching(/Bad Gateway/) as string }]);
        seen = statusText(d.fix, d.status, d.pr, d.retrying);
      },
    });
    expect(seen).toMatch(/^retrying  deliverFix \(attempt 2\), last error: .*Bad Gateway/m);
    expect(outcome.status).toBe('pr_created');
  });

  test('a project created after start with its own local remote gets its PR from the local GitHub', async () => {
    // What POST /admin/projects stores, with nobody telling the stand-in about the repository.
    stack.anthropic!.setScript(paginationScenario);
    const bare = createBareRemote('pagination', path.join(tmp, 'late', 'shop.git'));
    const project = await upsertProject(stack.prisma, {
      key: `dlv-late-${suffix}`,
      name: 'late',
      repoOwner: 'late-org',
      repoName: `shop-${suffix}`,
      cloneUrl: `file://${bare}`,
    });
    const filed = await fileBug({ prisma: stack.prisma, temporal: stack.temporal, temporalUiUrl: 'http://localhost:8233' }, project, {
      ...sampleBug,
      priority: 'HIGH',
      source: 'test',
      externalId: 'dlv-late',
    });
    const outcome = (await stack.temporal.workflow.getHandle(filed.workflowId).result()) as FixOutcome;
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('pr_created');
    expect(stack.github!.pulls('late-org', `shop-${suffix}`)).toHaveLength(1);
    expect(execFileSync('git', ['show', `${outcome.pr!.branch}:src/paginate.js`], { cwd: bare }).toString()).toContain('(page - 1) * size');
  });
});
