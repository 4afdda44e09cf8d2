/**
 * Durability and per-project settings through the real activities, PostgreSQL and Docker:
 * runTools checkpoints the workspace (commits, uncommitted edits, deletions, untracked files),
 * refusals become SafetyEvent rows, and provisioning again after the container is removed
 * restores exactly that state inside a sandbox with the project's own limits.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { captureWorkspace, saveCheckpoint } from '../../src/sandbox/checkpoint.js';
import { createModelActivities } from '../../activities/model.js';
import { createSandboxActivities, type SandboxRef } from '../../activities/sandbox.js';
import { execInSandbox } from '../../src/sandbox/exec.js';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { ShellPool } from '../../src/sandbox/shell-pool.js';
import { createToolActivities } from '../../activities/tools.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma, type Prisma } from '../../src/db/prisma.js';
import { SANDBOX_GONE } from '../../src/domain/fix/sandbox-errors.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';
import { lastToolResults, startAnthropicStandIn } from '../../dev/stand-ins/anthropic-api.js';

const config = loadConfig();
const docker = new Docker();
const prisma = createPrisma(config.DATABASE_URL);
const shells = new ShellPool(docker);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-checkpoint-'));
const suffix = randomUUID().slice(0, 8);
const workflowId = `checkpoint-test-${suffix}`;
const sandbox = createSandboxActivities({
  docker,
  image: config.SANDBOX_IMAGE,
  workDir: path.join(tmp, 'work'),
  hostId: `${process.env.BUGFIX_HOST_ID}-${suffix}`,
  hostQueue: 'unused',
  prisma,
  shells,
});
const { runTools } = createToolActivities({ prisma, docker, shells });
let req: Parameters<typeof sandbox.provisionSandbox>[0];
const refs: SandboxRef[] = [];
const sh = async (id: string, cmd: string) => (await execInSandbox(docker, id, ['bash', '-c', cmd])).stdout.toString();

async function turn(iteration: number, calls: Array<[string, Record<string, unknown>]>) {
  const content = calls.map(([name, input], i) => ({ type: 'tool_use', id: `toolu_${iteration}_${i}`, name, input }));
  await prisma.agentTurn.create({
    data: {
      workflowId,
      iteration,
      response: {
        id: `msg_${iteration}`,
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-5-5',
        content,
        stop_reason: 'tool_use',
        usage: { input_tokens: 1000, output_tokens: 50 },
      } as Prisma.InputJsonValue,
    },
  });
}

beforeAll(async () => {
  const bare = createBareRemote('pagination', path.join(tmp, 'remote.git'));
  const project = await upsertProject(prisma, {
    key: `cp-${suffix}`,
    name: 'Checkpoint',
    repoOwner: 'acme',
    repoName: 'cp',
    cloneUrl: bare,
    // Also records the tree it ran on: HEAD and anything differing from it (agent changes).
    sandbox: {
      memoryMb: 300,
      pids: 100,
      installCommand: 'mkdir -p /tmp/deps && echo installed > /tmp/deps/marker && { git rev-parse HEAD; git status --porcelain; } > /tmp/deps/tree',
    },
    scopeLimits: { forbiddenPaths: ['docs/**'] },
  });
  const bug = await prisma.bugReport.create({ data: { projectId: project.id, externalId: suffix, title: 't', description: 'd', workflowId } });
  req = { workflowId, bugId: bug.id, projectKey: project.key, cloneUrl: bare, defaultBranch: 'main' };
});

afterAll(async () => {
  shells.closeAll();
  for (const r of refs)
    await docker
      .getContainer(r.containerId)
      .remove({ force: true })
      .catch(() => undefined);
  await prisma.$disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('workspace checkpoints', () => {
  test('provisioning applies the project sandbox settings, enforced by the kernel', async () => {
    const ref = await sandbox.provisionSandbox(req);
    refs.push(ref);
    const host = (await docker.getContainer(ref.containerId).inspect()).HostConfig;
    expect(host).toMatchObject({ Memory: 300 * 1024 ** 2, MemorySwap: 300 * 1024 ** 2, PidsLimit: 100, NetworkMode: 'none' });
    // The kernel's view from inside (cgroup v2 or v1), not just the requested config.
    expect(await sh(ref.containerId, 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max')).toBe('100\n');
    expect(await sh(ref.containerId, 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(
      `${300 * 1024 ** 2}\n`,
    );
    expect(await sh(ref.containerId, 'cat /tmp/deps/marker')).toBe('installed\n');
  });

  test('runTools checkpoints every turn and records refusals as safety events', async () => {
    const id = refs[0]!.containerId;
    await turn(1, [
      ['write_file', { path: 'CHANGELOG.md', content: 'committed change\n' }],
      ['git_commit', { message: 'agent commit' }],
    ]);
    await turn(2, [
      ['edit_file', { path: 'src/paginate.js', old_string: '  const start = page * size;', new_string: '  const start = (page - 1) * size;' }],
      ['run_command', { command: "mkdir notes && printf 'bytes\\0with nul\\n' > notes/untracked.bin" }],
      ['run_command', { command: 'git rm -q README.md' }],
      ['write_file', { path: 'docs/guide.md', content: 'no' }],
      ['run_command', { command: 'git push origin HEAD' }],
    ]);
    expect(await runTools({ workflowId, iteration: 1, containerId: id })).toMatchObject({ errors: 0 });
    expect(await runTools({ workflowId, iteration: 2, containerId: id })).toMatchObject({ errors: 2 });

    const events = await prisma.safetyEvent.findMany({ where: { workflowId }, orderBy: { createdAt: 'asc' } });
    expect(events.map((e) => e.kind)).toEqual(['scope_violation', 'command_denied']);
    expect(events[0]).toMatchObject({ bugId: req.bugId, details: expect.objectContaining({ path: 'docs/guide.md', iteration: 2 }) });
    const cps = await prisma.workspaceCheckpoint.findMany({ where: { workflowId }, orderBy: { iteration: 'asc' } });
    expect(cps.map((c) => c.iteration)).toEqual([1, 2]);
    expect(cps[0]!.baseSha).toBe(refs[0]!.baseSha);
    expect(cps[1]!.headSha).toBe((await sh(id, 'git rev-parse HEAD')).trim());
    expect(cps[1]!.bundle && cps[1]!.patch && cps[1]!.untrackedTar).toBeTruthy();
  });

  test('a removed container comes back with the checkpointed workspace', async () => {
    // What the worktree holds; the index (staged or not) is not part of a checkpoint.
    const STATE = 'git rev-parse HEAD; git diff HEAD; git ls-files -o --exclude-standard; od -c notes/untracked.bin';
    const before = await sh(refs[0]!.containerId, STATE);
    await docker.getContainer(refs[0]!.containerId).remove({ force: true });

    // Work on the lost container fails as SandboxGone (the workflow then provisions again).
    await turn(3, [['run_command', { command: 'true' }]]);
    const lost = await runTools({ workflowId, iteration: 3, containerId: refs[0]!.containerId }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(ApplicationFailure);
    expect((lost as ApplicationFailure).type).toBe(SANDBOX_GONE);

    const again = await sandbox.provisionSandbox(req);
    refs.push(again);
    expect(again.containerId).not.toBe(refs[0]!.containerId);
    expect(again.baseSha).toBe(refs[0]!.baseSha);
    const after = await sh(again.containerId, STATE);
    expect(after).toBe(before);
    expect(await sh(again.containerId, 'git log --format=%s -2')).toBe('agent commit\nInitial commit\n');
    // The install step (which may have a network) ran on the pristine base, before the agent's
    // commits, edits and untracked files were restored.
    expect(await sh(again.containerId, 'cat /tmp/deps/marker /tmp/deps/tree')).toBe(`installed\n${refs[0]!.baseSha}\n`);
    // The agent carries on in the restored sandbox.
    expect(await runTools({ workflowId, iteration: 3, containerId: again.containerId })).toMatchObject({ errors: 0 });
  });

  test('a retried turn (its worker died mid-turn) runs again from the workspace the model saw', async () => {
    const id = refs[1]!.containerId;
    await turn(4, [['edit_file', { path: 'src/paginate.js', old_string: '(page - 1) * size', new_string: 'Math.max(0, page - 1) * size' }]]);
    // The first attempt got as far as the edit and a stray file, then the worker was killed.
    await sh(id, "sed -i 's/(page - 1) \\* size/Math.max(0, page - 1) * size/' src/paginate.js && touch stray.txt");
    expect(await sh(id, 'grep -c "Math.max" src/paginate.js')).toBe('1\n');

    const retried = await new MockActivityEnvironment({ attempt: 2 }).run(runTools, { workflowId, iteration: 4, containerId: id });
    expect(retried).toMatchObject({ errors: 0 });
    expect(await sh(id, 'grep -c "Math.max(0, page - 1) \\* size" src/paginate.js; ls stray.txt 2>&1 | grep -c "No such"')).toBe('1\n1\n');
    // What the earlier turns made is still there.
    expect(await sh(id, 'git log --format=%s -1; od -c notes/untracked.bin | head -1')).toMatch(/^agent commit\n/);
  });

  test('a big untracked file is left out on its own: the new source file next to it comes back', async () => {
    const id = refs[1]!.containerId;
    await turn(5, [
      ['run_command', { command: 'head -c 40000000 /dev/urandom > big.bin' }],
      ['write_file', { path: 'src/extra.js', content: 'export const extra = 1;\n' }],
    ]);
    expect(await runTools({ workflowId, iteration: 5, containerId: id })).toMatchObject({ errors: 0 });
    const note = await prisma.safetyEvent.findFirst({ where: { workflowId, kind: 'checkpoint_incomplete' } });
    expect(note?.message).toBe('checkpoint of iteration 5 left out untracked file big.bin (40000000 bytes): too big to store');

    await docker.getContainer(id).remove({ force: true });
    const again = await sandbox.provisionSandbox(req);
    refs.push(again);
    expect(await sh(again.containerId, 'cat src/extra.js; ls big.bin 2>&1 | grep -c "No such"; od -c notes/untracked.bin | head -1')).toMatch(
      /^export const extra = 1;\n1\n0000000 +b +y +t +e +s +\\0/,
    );
  });

  test('commits too big for a checkpoint keep the previous one, which still restores', async () => {
    const id = refs[2]!.containerId;
    const kept = await prisma.workspaceCheckpoint.findFirstOrThrow({ where: { workflowId }, orderBy: { iteration: 'desc' } });
    expect(kept.iteration).toBe(5);
    await turn(6, [
      ['run_command', { command: 'head -c 40000000 /dev/urandom > big.bin' }],
      ['git_commit', { message: 'big commit' }],
    ]);
    expect(await runTools({ workflowId, iteration: 6, containerId: id })).toMatchObject({ errors: 0 });
    expect(await sh(id, 'git log --format=%s -1')).toBe('big commit\n');
    // Iteration 6 has no checkpoint (its head is a commit no fresh clone has), and says why.
    expect(await prisma.workspaceCheckpoint.count({ where: { workflowId, iteration: 6 } })).toBe(0);
    const note = await prisma.safetyEvent.findFirst({ where: { workflowId, kind: 'checkpoint_incomplete', message: { contains: 'iteration 6' } } });
    expect(note?.message).toMatch(
      /^checkpoint of iteration 6 left out bundle \(\d+ bytes; without it this checkpoint could not be restored, so the previous one is kept\)/,
    );

    // A lost sandbox comes back at iteration 5's state instead of failing for good.
    await docker.getContainer(id).remove({ force: true });
    const again = await sandbox.provisionSandbox(req);
    refs.push(again);
    expect(await sh(again.containerId, 'git rev-parse HEAD; cat src/extra.js; ls big.bin 2>&1 | grep -c "No such"')).toBe(
      `${kept.headSha}\nexport const extra = 1;\n1\n`,
    );
    // So does a retried turn, which rewinds to the latest checkpoint before it.
    await sh(again.containerId, 'touch stray.txt');
    await turn(7, [['run_command', { command: 'true' }]]);
    expect(await new MockActivityEnvironment({ attempt: 2 }).run(runTools, { workflowId, iteration: 7, containerId: again.containerId })).toMatchObject({
      errors: 0,
    });
    expect(await sh(again.containerId, 'git rev-parse HEAD; cat src/extra.js; ls stray.txt 2>&1 | grep -c "No such"')).toBe(
      `${kept.headSha}\nexport const extra = 1;\n1\n`,
    );
  });

  test('a turn whose host was lost after its checkpoint, before its results, runs once more from the workspace the model saw', async () => {
    const id = refs.at(-1)!.containerId;
    await turn(8, [['edit_file', { path: 'src/extra.js', old_string: 'extra = 1', new_string: 'extra = 2' }]]);
    // Its first run edited, left a stray file and saved checkpoint 8; then the host was lost
    // before the results were stored. The new sandbox is the workspace the model saw: checkpoint
    // 7, not checkpoint 8, whose turn has no stored results.
    await sh(id, "sed -i 's/extra = 1/extra = 2/' src/extra.js && touch stray.txt");
    await saveCheckpoint(prisma, workflowId, 8, await captureWorkspace(docker, shells, id));
    await docker.getContainer(id).remove({ force: true });
    const again = await sandbox.provisionSandbox(req);
    refs.push(again);
    expect(await sh(again.containerId, 'cat src/extra.js; ls stray.txt 2>&1 | grep -c "No such"')).toBe('export const extra = 1;\n1\n');

    // A first attempt on the new sandbox: the edit applies once.
    expect(await runTools({ workflowId, iteration: 8, containerId: again.containerId })).toMatchObject({ errors: 0 });
    expect(await sh(again.containerId, 'cat src/extra.js; ls stray.txt 2>&1 | grep -c "No such"')).toBe('export const extra = 2;\n1\n');
  });

  test('a reply cut off at max_tokens: its last tool call is answered as cut, not run', async () => {
    const id = refs.at(-1)!.containerId;
    const standIn = await startAnthropicStandIn((_req, n) =>
      n === 8
        ? {
            content: [
              { type: 'tool_use', name: 'write_file', input: { path: 'notes/whole.txt', content: 'whole\n' } },
              { type: 'tool_use', name: 'write_file', input: { path: 'src/cut.js', content: 'export function half(' } },
            ],
            stop_reason: 'max_tokens',
          }
        : [{ type: 'text', text: 'Noted.' }],
    );
    try {
      const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
      const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
      expect(await callModel({ workflowId, bugId: req.bugId, iteration: 9, notes: [] })).toMatchObject({
        stopReason: 'max_tokens',
        toolNames: ['write_file', 'write_file'],
      });
      const ran = await runTools({ workflowId, iteration: 9, containerId: id });
      expect(ran).toMatchObject({ errors: 1, actions: ['write_file notes/whole.txt', 'write_file (cut off at the token limit)'] });
      expect(await sh(id, 'cat notes/whole.txt; ls src/cut.js 2>&1 | grep -c "No such"')).toBe('whole\n1\n');

      // What the model reads next: the complete call ran, the cut one says why it did not.
      await callModel({ workflowId, bugId: req.bugId, iteration: 10, notes: [] });
      expect(lastToolResults(standIn.received.at(-1)!)).toEqual([
        { content: 'Wrote 6 bytes to notes/whole.txt.', is_error: undefined },
        {
          content: expect.stringMatching(
            /^Not run: your reply hit the output token limit while writing this call, so its input may be cut short\. .*edit_file/,
          ),
          is_error: true,
        },
      ]);
    } finally {
      await standIn.close();
    }
  });

  test('a turn whose results are stored reports the completion its run found: none for an invalid task_complete', async () => {
    await turn(11, [['task_complete', { summary: 'done', files_changed: 'src/extra.js' }]]);
    const ran = await runTools({ workflowId, iteration: 11, containerId: refs.at(-1)!.containerId });
    expect(ran).toMatchObject({ errors: 1 });
    expect(ran.completion).toBeUndefined();
    // The retry after the results were stored says the same.
    const retried = await new MockActivityEnvironment({ attempt: 2 }).run(runTools, { workflowId, iteration: 11, containerId: refs.at(-1)!.containerId });
    expect(retried).toMatchObject({ completion: undefined });
  });

  test('a fix stopped while its sandbox is provisioned gets no container', async () => {
    // The workflow's cleanup may look for the container before it exists: provisioning must not
    // go on to create (or keep) one once it was cancelled.
    const stopped = { ...req, workflowId: `${workflowId}-stopped` };
    const env = new MockActivityEnvironment();
    const provisioning = env.run(sandbox.provisionSandbox, stopped);
    env.cancel();
    await expect(provisioning).rejects.toBeInstanceOf(CancelledFailure);
    const left = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${stopped.workflowId}`] } });
    expect(left).toEqual([]);
  });
});
