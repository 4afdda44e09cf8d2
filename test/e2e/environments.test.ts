/**
 * Per-project environments against the real parts: Temporal (the build workflow), Docker (setup
 * container, committed image, sandboxes from it), PostgreSQL (rows, secrets), git, and the npm
 * registry through the allowlisting egress proxy. One fix runs end to end in a prepared
 * environment; the rest calls the provisioning activity the way the workflow does.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import type { ModelScript } from '../../dev/stand-ins/anthropic-api.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { SANDBOX_LABELS } from '../../src/sandbox/container.js';
import { execInSandbox } from '../../src/sandbox/exec.js';
import { activityDepsFromConfig } from '../../src/worker.js';
import { createActivities } from '../../activities/index.js';
import type { SandboxRef } from '../../activities/sandbox.js';
import { updateProject } from '../../src/projects/project-store.js';
import { fixDetail } from '../../src/fixes/fix-detail.js';
import { environmentBuildId } from '../../src/temporal/environment-builds.js';
import { startFix } from '../support/start-fix.js';
import type { Payload } from '@temporalio/common';
import { payloadCodec } from '../../src/temporal/payload-keys.js';

const docker = new Docker();

/** A history as text with every payload decrypted (the codec encrypts them at rest). */
async function plainHistory(history: unknown): Promise<string> {
  const payloads: Payload[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if ('metadata' in v && 'data' in v) payloads.push(v as Payload);
    else for (const x of Object.values(v)) walk(x);
  };
  walk(history);
  const decoded = await payloadCodec().decode(payloads);
  return [JSON.stringify(history), ...decoded.map((p) => Buffer.from(p.data ?? []).toString('utf8'))].join('\n');
}
const SECRET = `s3cr3t-${Math.random().toString(36).slice(2)}-value`;
// The setup: a real install through the proxy, a request the allowlist refuses (recorded, not
// fatal here), the secret used (and echoed: the recorded output must show it redacted).
const SETUP = [
  'test "$SETUP_TOKEN" = "$EXPECTED_LEN_CHECK" || test ${#SETUP_TOKEN} -gt 10',
  'echo "token is $SETUP_TOKEN"',
  'npm install --no-save --no-package-lock is-number@7.0.0',
  'git ls-remote https://github.com/octocat/Hello-World.git >/dev/null 2>&1 || echo "github refused, as it should be"',
].join('\n');
const ENVIRONMENT = { toolchains: { node: '18' }, setup: SETUP, egress: { presets: ['npm' as const] } };

describe('project environments', () => {
  let stack: Stack;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-env-'));
  const suffix = Math.random().toString(36).slice(2, 8);
  let hostId: string;
  const seen: { container?: Docker.ContainerInspectInfo; env?: string; egress?: string; deps?: string } = {};
  const workflowId = `bugfix-env-fix-${suffix}`;

  /** The pagination playbook; mid-fix (turn 3) the test looks at the running sandbox from outside. */
  const script: ModelScript = (req, turn) => {
    if (turn === 3 && !seen.container) {
      const id = execFileSync('docker', ['ps', '-q', '--filter', `label=${SANDBOX_LABELS.workflowId}=${workflowId}`], { encoding: 'utf8' }).trim();
      const sh = (cmd: string) => execFileSync('docker', ['exec', id, 'bash', '-c', cmd], { encoding: 'utf8' });
      seen.container = JSON.parse(execFileSync('docker', ['inspect', id], { encoding: 'utf8' }))[0];
      seen.env = sh('env');
      seen.egress = sh('test -S /egress/proxy.sock && echo socket || echo no-socket; (: > /dev/tcp/127.0.0.1/3128) 2>/dev/null && echo proxy || echo no-proxy');
      seen.deps = sh('node -e "console.log(require(\'is-number\')(5))"');
    }
    return paginationScenario(req, turn);
  };

  beforeAll(async () => {
    stack = await startStack({ script, temporal: { address: process.env.TEMPORAL_ADDRESS! }, httpPort: 0 });
    hostId = process.env.BUGFIX_HOST_ID!;
  });
  afterAll(async () => {
    await stack?.stop();
    const images = await docker.listImages({ filters: { label: [`bugfix.host=${hostId}`] } });
    for (const img of images)
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await stack?.prisma.environmentImage.deleteMany({ where: { host: hostId } });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a fix runs in the prepared environment: deps installed, no network, no secrets, egress audited', async () => {
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `env-${suffix}`, repo: `env-${suffix}`, dir: tmp });
    await updateProject(stack.prisma, project.key, { environment: ENVIRONMENT, environmentSecrets: { SETUP_TOKEN: SECRET } });
    const handle = await startFix(stack, project, { workflowId, externalId: suffix });
    const outcome = (await handle.result()) as FixOutcome;
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('pr_created');

    // The agent phase: dependencies from the image, no proxy socket, no network, no secret.
    expect(seen.deps?.trim()).toBe('true');
    expect(seen.container?.HostConfig.NetworkMode).toBe('none');
    expect((seen.container?.Mounts ?? []).map((m) => m.Destination)).toEqual(['/etc/hosts']);
    expect(seen.egress).toBe('no-socket\nno-proxy\n');
    expect(seen.env).not.toContain(SECRET);
    expect(seen.env).not.toMatch(/PROXY/i);
    expect(seen.env).toContain('npm_config_offline=true');

    // The build: one row, its egress audited both ways, its output redacted.
    const row = await stack.prisma.environmentImage.findFirstOrThrow({ where: { host: hostId, projectKey: project.key } });
    expect(row.status).toBe('ready');
    const egress = row.egress as Array<{ host: string; port: number; allowed: boolean }>;
    expect(egress).toContainEqual(expect.objectContaining({ host: 'registry.npmjs.org', port: 443, allowed: true }));
    expect(egress).toContainEqual(expect.objectContaining({ host: 'github.com', port: 443, allowed: false }));
    expect(row.outputTail).toContain('token is ***');
    expect(row.outputTail).not.toContain(SECRET);

    // The secret is nowhere in Temporal: neither the fix's history nor the build's.
    const fixHistory = await plainHistory(await handle.fetchHistory());
    const buildHistory = await plainHistory(await stack.temporal.workflow.getHandle(environmentBuildId(hostId, row.key)).fetchHistory());
    expect(fixHistory).toContain(row.key);
    expect(buildHistory).toContain('github.com:443');
    for (const h of [fixHistory, buildHistory]) expect(h).not.toContain(SECRET);
    // Refused egress is shown to the reviewer (PR body) and to ops (fix detail), refusals first.
    const [pull] = stack.github!.pulls('acme', `env-${suffix}`);
    expect(pull?.body).toContain('Setup egress refused (not on the allowlist): `github.com:443`');
    const detail = await fixDetail({ prisma: stack.prisma, temporal: stack.temporal }, workflowId);
    expect(detail.environment).toMatchObject({ key: row.key, image: row.tag });
    expect(detail.environment?.egress?.[0]).toMatchObject({ host: 'github.com', port: 443, allowed: false });

    // Nor in the committed image's configuration.
    expect(JSON.stringify(await docker.getImage(row.tag).inspect())).not.toContain(SECRET);
  });

  test('concurrent fixes share one build; a changed lock file rebuilds; fixes start at their own commit', async () => {
    const { project, bare } = await createFixtureProject(stack.prisma, stack.github, { key: `env2-${suffix}`, repo: `env2-${suffix}`, dir: tmp });
    await updateProject(stack.prisma, project.key, { environment: { ...ENVIRONMENT, setup: 'npm install --no-save --no-package-lock is-number@7.0.0' } });
    const acts = createActivities({ ...activityDepsFromConfig(stack.config, stack.prisma, hostId), temporal: stack.temporal });
    const provision = async (n: number) => {
      const bug = await stack.prisma.bugReport.create({
        data: { projectId: project.id, externalId: `${suffix}-${n}`, workflowId: `env2-${suffix}-${n}`, title: 't', description: 'd' },
      });
      const req = { workflowId: bug.workflowId!, bugId: bug.id, projectKey: project.key, cloneUrl: bare, defaultBranch: 'main' };
      return (await new MockActivityEnvironment().run(acts.provisionSandbox, req)) as SandboxRef;
    };
    const head = (id: string) => execInSandbox(docker, id, ['git', 'rev-parse', 'HEAD']).then((r) => r.stdout.toString().trim());

    const [a, b] = await Promise.all([provision(1), provision(2)]);
    expect(a.environment?.key).toBeDefined();
    expect(b.environment?.key).toBe(a.environment?.key);
    const runs = async (key: string) => {
      const found = [];
      for await (const w of stack.temporal.workflow.list({ query: `WorkflowId = '${environmentBuildId(hostId, key)}'` })) found.push(w);
      return found.length;
    };
    expect(await runs(a.environment!.key)).toBe(1);

    // A new commit that leaves the lock files alone reuses the image, moved to the new commit.
    const work = path.join(tmp, 'env2-work');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: work, encoding: 'utf8' });
    execFileSync('git', ['clone', '-q', bare, work]);
    fs.writeFileSync(path.join(work, 'NOTES.md'), 'a new file after the environment was built\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'notes');
    git('push', '-q', 'origin', 'main');
    const c = await provision(3);
    expect(c.environment?.key).toBe(a.environment?.key);
    expect(await head(c.containerId)).toBe(git('rev-parse', 'HEAD').trim());
    expect((await execInSandbox(docker, c.containerId, ['cat', 'NOTES.md'])).stdout.toString()).toContain('a new file');
    expect((await execInSandbox(docker, c.containerId, ['git', 'status', '--porcelain'])).stdout.toString()).toBe('');

    // A changed manifest is a new key: a new build.
    const pkg = JSON.parse(fs.readFileSync(path.join(work, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ ...pkg, description: 'changed' }, null, 2));
    git('commit', '-q', '-am', 'manifest change');
    git('push', '-q', 'origin', 'main');
    const d = await provision(4);
    expect(d.environment?.key).not.toBe(a.environment?.key);
    expect(await runs(d.environment!.key)).toBe(1);
    for (const r of [a, b, c, d]) await docker.getContainer(r.containerId).remove({ force: true });
  });

  test('setup failures: a refused host is named, output tail is given, no model call is paid', async () => {
    const { project, bare } = await createFixtureProject(stack.prisma, stack.github, { key: `env3-${suffix}`, repo: `env3-${suffix}`, dir: tmp });
    await updateProject(stack.prisma, project.key, {
      environment: {
        toolchains: { node: '18' },
        setup: 'npm install --no-save --registry https://registry.yarnpkg.com is-number@7.0.0',
        egress: { presets: ['npm'] },
      },
    });
    const id = `bugfix-env-fail-${suffix}`;
    const outcome = (await (await startFix(stack, project, { workflowId: id, externalId: `${suffix}-f` })).result()) as FixOutcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(
      /^environment setup failed: the setup script exited \d+ — egress refused \(not on the allowlist\): registry\.yarnpkg\.com:443/,
    );
    expect(outcome.iterations).toBe(0);
    expect(await stack.prisma.ledgerEntry.count({ where: { workflowId: id } })).toBe(0);
    expect(bare).toBeTruthy();
  });
});
