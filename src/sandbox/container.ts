/**
 * Sandbox lifecycle with dockerode: a hardened container per fix, the repository cloned on the
 * worker host and streamed in as a tar (no credentials ever enter the container).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { sandboxContainerName } from '../domain/fix/ids.js';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from '../domain/fix/sandbox-settings.js';
import { WORKSPACE } from '../domain/agent/workspace-paths.js';
import { git } from '../infra/git.js';
import { PROJECT_ROOT } from '../config.js';
import { sandboxSecurity } from './security-profile.js';

export { DEFAULT_SANDBOX_LIMITS, type SandboxLimits };

export const SANDBOX_LABELS = {
  managed: 'bugfix.managed',
  workflowId: 'bugfix.workflow-id',
  bugId: 'bugfix.bug-id',
  project: 'bugfix.project',
  host: 'bugfix.host',
  /** the commit the fix started from: checkpoints bundle the agent's commits since it */
  baseSha: 'bugfix.base-sha',
} as const;

export const AGENT_UID = '1001:1001';
/** With the network disabled Docker writes an empty /etc/hosts: tests that use `localhost` need this one. */
export const SANDBOX_HOSTS_BIND = `${path.join(PROJECT_ROOT, 'docker', 'sandbox-hosts')}:/etc/hosts:ro`;
/** HOME of the agent in prepared environments: in the image, so caches the setup filled stay (Maven's, Go's) */
export const AGENT_HOME = '/home/agent';

/**
 * Where the repository lives. 'tmpfs': streamed into a memory-backed /workspace under a read-only
 * root (the plain image). 'image': already in a prepared environment image, with its installed
 * dependencies, in the container's writable layer (the root stays writable for uid 1001's own
 * folders only: /workspace, its HOME; the rest of the image belongs to root).
 */
export interface SandboxLayout {
  kind: 'tmpfs' | 'image';
  /** variables of the environment (plain ones and its offline settings) */
  env?: string[];
}

export interface ProvisionRequest {
  workflowId: string;
  bugId: string;
  projectKey: string;
  cloneUrl: string;
  defaultBranch: string;
}

export function hostRepoDir(workDir: string, workflowId: string): string {
  return path.join(workDir, workflowId.replace(/[^A-Za-z0-9._-]/g, '_'), 'repo');
}

/** Clones on the host (with the token, if any), then returns the HEAD commit. */
export async function cloneOnHost(workDir: string, req: ProvisionRequest, token?: string): Promise<{ dir: string; baseSha: string }> {
  const dir = hostRepoDir(workDir, req.workflowId);
  await fs.rm(path.dirname(dir), { recursive: true, force: true });
  await fs.mkdir(path.dirname(dir), { recursive: true });
  // No checkout on the host: the sandbox checks out into its tmpfs (memory), which is much faster
  // than writing thousands of files to the host's disk and reading them back for the tar.
  await git(['clone', '--quiet', '--no-checkout', '--single-branch', '--branch', req.defaultBranch, '--', req.cloneUrl, dir], { token });
  // The sandbox copy must not know where the repository lives nor how to reach it.
  await git(['remote', 'remove', 'origin'], { cwd: dir });
  const baseSha = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
  return { dir, baseSha };
}

export async function createSandboxContainer(
  docker: Docker,
  image: string,
  req: ProvisionRequest,
  hostId: string,
  limits: SandboxLimits = DEFAULT_SANDBOX_LIMITS,
  baseSha?: string,
  layout: SandboxLayout = { kind: 'tmpfs' },
): Promise<Docker.Container> {
  const inImage = layout.kind === 'image';
  const name = sandboxContainerName(req.workflowId);
  // A retried provisioning finds the container of the failed attempt: start over cleanly.
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => undefined);
  const container = await docker.createContainer({
    name,
    Image: image,
    // Wall-clock limit: when sleep ends, init (pid 1) exits and the container stops.
    Cmd: ['sleep', limits.wallClockSeconds ? String(limits.wallClockSeconds) : 'infinity'],
    User: AGENT_UID,
    WorkingDir: WORKSPACE,
    Env: [`HOME=${inImage ? AGENT_HOME : '/tmp'}`, 'LANG=C.UTF-8', 'CI=true', ...(layout.env ?? [])],
    Labels: {
      [SANDBOX_LABELS.managed]: 'true',
      [SANDBOX_LABELS.workflowId]: req.workflowId,
      [SANDBOX_LABELS.bugId]: req.bugId,
      [SANDBOX_LABELS.project]: req.projectKey,
      [SANDBOX_LABELS.host]: hostId,
      ...(baseSha ? { [SANDBOX_LABELS.baseSha]: baseSha } : {}),
    },
    // Disabled, not just 'none': no network namespace setup (~100 ms of every provision).
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Binds: [SANDBOX_HOSTS_BIND],
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      PidsLimit: limits.pidsLimit,
      ReadonlyRootfs: !inImage,
      Tmpfs: {
        ...(inImage ? {} : { [WORKSPACE]: `rw,exec,nosuid,nodev,size=${limits.workspaceSize},uid=1001,gid=1001,mode=0755` }),
        '/tmp': `rw,exec,nosuid,nodev,size=${limits.tmpSize},uid=1001,gid=1001,mode=1777`,
      },
      CapDrop: ['ALL'],
      // seccomp profile, no-new-privileges, AppArmor and runtime where configured
      ...sandboxSecurity(),
      Init: true,
      AutoRemove: false,
    },
  });
  await container.start();
  return container;
}

/**
 * Streams `tar -c` of the host clone into `tar -x` in the workspace (tmpfs: putArchive can't),
 * then checks the files out there (the host clone has none).
 */
export async function streamRepoIntoSandbox(docker: Docker, containerId: string, hostDir: string, commit = 'HEAD'): Promise<void> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ['sh', '-c', 'tar -x -C "$1" -f - && git -C "$1" reset -q --hard "$2"', 'sh', WORKSPACE, commit],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: true });
  const errors: Buffer[] = [];
  const sink = new PassThrough().on('data', (c: Buffer) => errors.push(c));
  docker.modem.demuxStream(stream, sink, sink);
  const tar = spawn('tar', ['-c', '-C', hostDir, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  tar.stdout.pipe(stream);
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  const tarExit = await new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? -1)));
  if (tarExit !== 0) throw new Error(`host tar exited ${tarExit}`);
  await finished;
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`tar -x in sandbox exited ${ExitCode}: ${Buffer.concat(errors).toString().slice(0, 500)}`);
}

/**
 * Removes the container (false: it was not there). Another removal already under way (a kill
 * switch's sweep, the reaper) is waited for rather than failed: the caller wants it gone.
 */
export async function removeSandboxContainer(docker: Docker, containerId: string): Promise<boolean> {
  const container = docker.getContainer(containerId);
  try {
    await container.remove({ force: true });
    return true;
  } catch (err) {
    const { statusCode, message } = err as { statusCode?: number; message?: string };
    if (statusCode === 404) return false;
    if (statusCode === 409 && /already in progress/.test(message ?? '')) {
      await container.wait({ condition: 'removed' }).catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 404) throw e;
      });
      return true;
    }
    throw err;
  }
}
