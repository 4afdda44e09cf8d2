/** Provision and remove the sandbox of a fix (the container lives on this worker's host). */
import fs from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { PrismaClient } from '../src/db/prisma.js';
import { parseSandboxSettings, sandboxLimitsFor, type SandboxSettings } from '../src/domain/fix/sandbox-settings.js';
import { latestCheckpoint, restoreWorkspace } from '../src/sandbox/checkpoint.js';
import { runInstallStep } from '../src/sandbox/install-step.js';
import {
  hostRepoDir,
  cloneOnHost,
  createSandboxContainer,
  removeSandboxContainer,
  SANDBOX_LABELS,
  streamRepoIntoSandbox,
  type ProvisionRequest,
  type SandboxLimits,
} from '../src/sandbox/container.js';
import type { ShellPool } from '../src/sandbox/shell-pool.js';
import { throwIfCancelled, untilCancelled } from '../src/temporal/activity-heartbeat.js';
import { SpendStopped, type SpendGuard } from '../src/safety/spend-guard.js';
import { offlineEnv } from '../src/domain/environment/environment-spec.js';
import { withStoredCredentials } from '../src/projects/clone-url.js';
import { applyRepositoryDelta, environmentTarget, projectEnvironment, type ProjectEnvironment } from '../src/sandbox/environment-provision.js';
import { findReadyEnvironment, type ReadyEnvironment } from '../src/sandbox/environment-images.js';
import type { EnvironmentBuildInput } from '../workflows/environment-build.js';

export interface SandboxDeps {
  docker: Docker;
  image: string;
  workDir: string;
  hostId: string;
  hostQueue: string;
  /** the host's git credential for the clone (never enters the sandbox) */
  gitToken?: () => Promise<string | undefined>;
  /** defaults under the projects' own `sandbox` settings */
  limits?: SandboxLimits;
  /** reads the project's sandbox settings and the fix's last checkpoint */
  prisma?: PrismaClient;
  /** persistent shells of this worker, closed with their container */
  shells?: ShellPool;
  /** Docker network an install step may use when a project sets installNetwork (off unless set) */
  installNetwork?: string;
  /** starts or joins the build of an environment image (src/temporal/environment-builds.ts) */
  buildEnvironment?: (input: EnvironmentBuildInput) => Promise<ReadyEnvironment>;
  /** kill switches as this worker hears of them: no sandbox is created for a project one covers */
  spendGuard?: SpendGuard;
}

export interface SandboxRef {
  containerId: string;
  hostQueue: string;
  baseSha: string;
  /** the prepared environment the sandbox started from, when the project has one */
  environment?: { key: string; image: string; egressDenied: string[] };
}

async function projectSettings(prisma: PrismaClient | undefined, bugId: string): Promise<SandboxSettings> {
  if (!prisma) return {};
  const bug = await prisma.bugReport.findUnique({ where: { id: bugId }, select: { project: { select: { sandbox: true } } } });
  return parseSandboxSettings(bug?.project.sandbox);
}

export function createSandboxActivities(deps: SandboxDeps) {
  /**
   * Before and after a container is created: a fix stopped meanwhile (its cleanup may have looked
   * before the container existed) or a kill switch over its project (its sweep may have run
   * before) gets no sandbox.
   */
  const mayHaveSandbox = (req: ProvisionRequest) => {
    throwIfCancelled();
    const stopped = deps.spendGuard?.stoppedFor(req.projectKey);
    if (stopped) throw stopped;
  };
  /** A sandbox from the project's prepared image (built first if this host lacks it), at the fix's commit. */
  const provisionInEnvironment = async (req: ProvisionRequest, env: ProjectEnvironment): Promise<SandboxRef> => {
    const prisma = deps.prisma!;
    const checkpoint = await latestCheckpoint(prisma, req.workflowId);
    const target = await environmentTarget({ docker: deps.docker, workDir: deps.workDir, baseImage: deps.image, token: await deps.gitToken?.() }, env, req);
    const ready =
      (await findReadyEnvironment(prisma, deps.docker, deps.hostId, target.key)) ??
      (await deps.buildEnvironment!({
        host: deps.hostId,
        hostQueue: deps.hostQueue,
        projectKey: req.projectKey,
        key: target.key,
        tag: target.tag,
        baseSha: target.head,
        spec: env.spec,
      }));
    const baseSha = checkpoint?.baseSha ?? target.head;
    mayHaveSandbox(req);
    const variables = [...Object.entries(env.spec.env ?? {}), ...Object.entries(offlineEnv(env.spec))].map(([k, v]) => `${k}=${v}`);
    const container = await createSandboxContainer(deps.docker, ready.tag, req, deps.hostId, sandboxLimitsFor(env.sandbox, deps.limits), baseSha, {
      kind: 'image',
      env: variables,
    });
    try {
      await applyRepositoryDelta(deps.docker, container.id, target.mirror, ready.baseSha, baseSha);
      if (checkpoint) await restoreWorkspace(deps.docker, container.id, checkpoint);
      mayHaveSandbox(req);
    } catch (err) {
      await removeSandboxContainer(deps.docker, container.id);
      throw err;
    }
    return {
      containerId: container.id,
      hostQueue: deps.hostQueue,
      baseSha,
      environment: { key: ready.key, image: ready.tag, egressDenied: ready.egressDenied },
    };
  };

  const provision = async (payload: ProvisionRequest): Promise<SandboxRef> => {
    const req = { ...payload, cloneUrl: await withStoredCredentials(deps.prisma, payload.bugId, payload.cloneUrl) };
    const env = deps.prisma && deps.buildEnvironment ? await projectEnvironment(deps.prisma, req.bugId) : null;
    if (env) return provisionInEnvironment(req, env);
    const settings = await projectSettings(deps.prisma, req.bugId);
    // A lost sandbox comes back at its last checkpoint, relative to the same base commit.
    const checkpoint = deps.prisma ? await latestCheckpoint(deps.prisma, req.workflowId) : null;
    const { dir, baseSha: cloned } = await cloneOnHost(deps.workDir, req, await deps.gitToken?.());
    const baseSha = checkpoint?.baseSha ?? cloned;
    const limits = sandboxLimitsFor(settings, deps.limits);
    // A fix stopped while this cloned would find no container to remove if one appeared now.
    mayHaveSandbox(req);
    const container = await createSandboxContainer(deps.docker, deps.image, req, deps.hostId, limits, baseSha);
    try {
      await streamRepoIntoSandbox(deps.docker, container.id, dir);
      // Install on the pristine checkout, then restore: the step may have a network, and the
      // checkpoint is agent-written code (a preinstall script, say) that must never run with one.
      // A fresh sandbox also installs the base commit's dependencies, so nothing else changes.
      if (settings.installCommand) {
        await runInstallStep(deps.docker, container.id, settings.installCommand, settings.installNetwork ? deps.installNetwork : undefined);
      }
      if (checkpoint) await restoreWorkspace(deps.docker, container.id, checkpoint);
      mayHaveSandbox(req);
    } catch (err) {
      await removeSandboxContainer(deps.docker, container.id);
      throw err;
    } finally {
      await fs.rm(path.dirname(dir), { recursive: true, force: true });
    }
    return { containerId: container.id, hostQueue: deps.hostQueue, baseSha };
  };

  return {
    async provisionSandbox(payload: ProvisionRequest): Promise<SandboxRef> {
      try {
        mayHaveSandbox(payload);
        return await provision(payload);
      } catch (err) {
        // Refused under a kill switch: wait for the fix's kill (as a stopped model call does).
        if (err instanceof SpendStopped) await untilCancelled(err);
        throw err;
      }
    },

    async removeSandboxesOf(input: { workflowId: string }): Promise<{ removed: number }> {
      const found = await deps.docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${input.workflowId}`] } });
      for (const c of found) {
        deps.shells?.close(c.Id);
        await removeSandboxContainer(deps.docker, c.Id);
      }
      return { removed: found.length };
    },

    async removeSandbox(input: { containerId: string; workflowId: string }): Promise<{ removed: boolean }> {
      deps.shells?.close(input.containerId);
      const removed = await removeSandboxContainer(deps.docker, input.containerId);
      await fs.rm(path.dirname(hostRepoDir(deps.workDir, input.workflowId)), { recursive: true, force: true });
      return { removed };
    },
  };
}
