/**
 * The `bugfix` CLI, run as a child process, against a fix running for real (Temporal, worker,
 * Docker sandbox, PostgreSQL) whose scripted model keeps listing files so it never finishes on
 * its own: status, list, pause, hint, budget, resume, watch, cancel, costs, and the error lines.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { PROJECT_ROOT } from '../../src/config.js';
import type { FixInput, FixStatus } from '../../src/domain/fix/fix.js';
import { BugIdKey, PhaseKey, ProjectKeyKey } from '../../src/domain/fix/search-attributes.js';
import { createApp } from '../../src/http/app.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { taskQueues } from '../../temporal.config.js';
import { statusQuery } from '../../workflows/bug-fix/messages.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';
import type { MessagesRequest, ModelScript } from '../../dev/stand-ins/anthropic-api.js';

const hintsSeen: string[] = [];
/** Never finishes: lists files every turn, and remembers hints it was given. */
const wandering: ModelScript = (req: MessagesRequest) => {
  const last = req.messages[req.messages.length - 1];
  for (const block of typeof last?.content === 'string' ? [{ type: 'text', text: last.content }] : (last?.content ?? [])) {
    if (block.type === 'text' && String(block.text).includes('Hint from an engineer')) hintsSeen.push(String(block.text));
  }
  return [{ type: 'tool_use', name: 'list_files', input: {} }];
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
const TSX = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts');
const cliEnv = (extra: Record<string, string> = {}) => ({
  ...process.env,
  TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
  BUGFIX_TASK_QUEUE: taskQueues.main,
  ...extra,
});

function cli(args: string[], extra?: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(TSX, [MAIN, ...args], { cwd: PROJECT_ROOT, env: cliEnv(extra), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('bugfix CLI against a running fix', () => {
  let stack: Stack;
  let bugId: string;
  let workflowId: string;
  const suffix = Math.random().toString(36).slice(2, 8);
  const projectKey = `cli-${suffix}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-cli-'));
  const status = () => stack.temporal.workflow.getHandle(workflowId).query(statusQuery) as Promise<FixStatus>;

  beforeAll(async () => {
    stack = await startStack({ script: wandering, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
    const bare = createBareRemote('pagination', path.join(tmp, 'remote.git'));
    const project = await upsertProject(stack.prisma, {
      key: projectKey,
      name: 'CLI',
      repoOwner: 'acme',
      repoName: 'cli',
      cloneUrl: bare,
      validation: { test: 'npm test' },
    });
    workflowId = `bugfix-${projectKey}-running`;
    const bug = await stack.prisma.bugReport.create({
      data: { projectId: project.id, externalId: 'running', workflowId, title: 'Never fixed', description: 'The model never finishes.' },
    });
    bugId = bug.id;
    await stack.temporal.workflow.start('bugFixWorkflow', {
      taskQueue: taskQueues.main,
      workflowId,
      args: [{ bugId, projectId: project.id, projectKey, budgets: { maxIterations: 10_000, maxCostUsd: 1000 } } satisfies FixInput],
      typedSearchAttributes: [
        { key: BugIdKey, value: bugId },
        { key: ProjectKeyKey, value: projectKey },
        { key: PhaseKey, value: 'queued' },
      ],
    });
    await vi.waitFor(async () => expect((await status()).iteration).toBeGreaterThanOrEqual(2), { timeout: 60_000, interval: 250 });
  });

  afterAll(async () => {
    await stack.temporal.workflow
      .getHandle(workflowId)
      .terminate('test cleanup')
      .catch(() => undefined);
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('status by bug id (json) and by workflow id (text)', async () => {
    const json = await cli(['status', bugId, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ fix: { workflowId, bugId, projectKey, status: 'RUNNING' }, status: { phase: expect.any(String) } });
    const text = await cli(['status', workflowId]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`fix       ${workflowId}`);
    expect(text.stdout).toMatch(/progress  phase=\S+ iteration=\d+\/10000/);
  });

  test('list filters by project and status', async () => {
    const listed = await cli(['list', '--project', projectKey, '--status', 'running', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).map((f: { workflowId: string }) => f.workflowId)).toEqual([workflowId]);
    const none = await cli(['list', '--project', projectKey, '--status', 'completed']);
    expect(none.stdout.trim()).toBe('no fixes');
  });

  test('pause, hint, budget, resume: the fix obeys each', async () => {
    const paused = await cli(['pause', bugId]);
    expect(paused.code, paused.stderr).toBe(0);
    await expect.poll(async () => (await status()).paused, { timeout: 20_000 }).toBe(true);

    const hint = await cli(['hint', workflowId, 'look', 'at', `src/paginate.js-${suffix}`]);
    expect(hint.code, hint.stderr).toBe(0);

    // Above the project's ceiling for operators only on purpose (the CLI holds Temporal credentials).
    const capped = await cli(['budget', bugId, '--usd', '1500']);
    expect(capped.code).toBe(1);
    expect(capped.stderr).toMatch(/^bugfix: budget refused: maxCostUsd 1500 is above the project's ceiling of \d+/);
    const budget = await cli(['budget', bugId, '--usd', '1500', '--iterations', '20000', '--above-ceiling']);
    expect(budget.code, budget.stderr).toBe(0);
    expect(budget.stdout).toMatch(/budget raised: .*iterations 20000.*cost \$1500/);
    expect((await status()).budgets).toMatchObject({ maxCostUsd: 1500, maxIterations: 20_000 });
    const refused = await cli(['budget', bugId, '--usd', '-3']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^bugfix: invalid input: maxCostUsd/);

    const resumed = await cli(['resume', bugId]);
    expect(resumed.code, resumed.stderr).toBe(0);
    await expect.poll(async () => (await status()).paused, { timeout: 20_000 }).toBe(false);
    await expect.poll(() => hintsSeen.some((h) => h.includes(`src/paginate.js-${suffix}`)), { timeout: 30_000 }).toBe(true);
  });

  test('the admin API shows the running fix: phases from history, ledger, transcript', async () => {
    const app = createApp({ prisma: stack.prisma, temporal: stack.temporal, temporalUiUrl: 'http://localhost:8233', log: { error: () => undefined } });
    const token = (await createAdminToken(stack.prisma, `cli-test-${suffix}`, 'VIEWER')).token;
    const detail = await request(app).get(`/admin/fixes/${bugId}`).set('authorization', `Bearer ${token}`);
    expect(detail.status).toBe(200);
    const kinds = detail.body.timeline as Array<{ kind: string; phase?: string; name?: string }>;
    expect(kinds.filter((t) => t.kind === 'phase').map((t) => t.phase)).toEqual(expect.arrayContaining(['provisioning', 'fixing']));
    expect(kinds.filter((t) => t.kind === 'signal').map((t) => t.name)).toEqual(['pause', 'hint', 'resume']);
    expect(kinds.filter((t) => t.kind === 'update').map((t) => t.name)).toEqual(['raiseBudget']);
    expect(detail.body.ledger.length).toBeGreaterThanOrEqual(2);
    expect(detail.body.status.budgets.maxIterations).toBe(20_000);
    const transcript = await request(app).get(`/admin/fixes/${workflowId}/transcript`).set('authorization', `Bearer ${token}`);
    expect(transcript.body.turns.length).toBeGreaterThanOrEqual(2);
    await stack.prisma.adminToken.deleteMany({ where: { name: `cli-test-${suffix}` } });
  });

  test('watch shows progress until cancel ends the fix', async () => {
    const child = spawn(TSX, [MAIN, 'watch', bugId, '--interval', '300'], { cwd: PROJECT_ROOT, env: cliEnv() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await expect
      .poll(() => out, { timeout: 30_000 })
      .toMatch(/phase=\S+ iteration=\d+\/20000 tokens=\d+ cost=\$[0-9.]+\/\$1500\.0000 \[[#-]{20}\] \d+% of budget/);

    const cancelled = await cli(['cancel', bugId, '--reason', 'cli test']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(await exited).toBe(0);
    expect(out).toMatch(/finished: cancelled \(killed by cli:\S+: cli test\)/);
  });

  test('costs from the ledger, by model and project', async () => {
    const byProject = await cli(['costs', '--by', 'project', '--project', projectKey, '--json']);
    expect(byProject.code, byProject.stderr).toBe(0);
    const report = JSON.parse(byProject.stdout);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({ group: projectKey });
    expect(report.rows[0].calls).toBeGreaterThanOrEqual(2);
    const text = await cli(['costs', '--by', 'model', '--project', projectKey]);
    expect(text.stdout).toMatch(/^MODEL\s+CALLS/);
    expect(text.stdout).toContain(stack.config.AGENT_MODEL);
  });

  test('errors: one line on stderr and a non-zero exit', async () => {
    // A running workflow that is not a fix (a triage run, say): no fix signal may reach it.
    const other = await stack.temporal.workflow.start('triageWorkflow', {
      taskQueue: `no-worker-${projectKey}`,
      workflowId: `triage-cli-${projectKey}`,
      args: [],
    });
    const cases: Array<[string[], RegExp, number, Record<string, string>?]> = [
      [['pause', other.workflowId], /^bugfix: triage-cli-[\w-]+ is a triageWorkflow, not a fix$/, 1],
      [['status', '00000000-0000-4000-8000-000000000000'], /^bugfix: no bug with id 00000000-0000-4000-8000-000000000000$/, 1],
      [['status', `bugfix-${projectKey}-absent`], /^bugfix: no fix with workflow id bugfix-cli-\w+-absent$/, 1],
      [['pause', bugId], /^bugfix: fix bugfix-cli-\w+-running is not running \(COMPLETED\)$/, 1],
      [['hint', "x'; rm -rf /", 'hi'], /^bugfix: not a bug id or workflow id: /, 1],
      [['list'], /^bugfix: cannot reach Temporal at 127\.0\.0\.1:\d+: /, 2, { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` }],
    ];
    for (const [args, message, code, env] of cases) {
      const r = await cli(args, env);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    await other.terminate('test over');
  });
});
