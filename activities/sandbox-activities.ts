/** Provision and remove the sandbox of a fix (the container lives on this worker's host). */
import fs from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { hostRepoDir, cloneOnHost, createSandboxContainer, removeSandboxContainer, SANDBOX_LABELS, streamRepoIntoSandbox, type ProvisionRequest, type SandboxLimits } from './sandbox.js';

export interface SandboxDeps {
  docker: Docker;
  image: string;
  workDir: string;
  hostId: string;
  hostQueue: string;
  gitToken?: string;
  limits?: SandboxLimits;
}

export interface SandboxRef {
  containerId: string;
  hostQueue: string;
  baseSha: string;
}

export function createSandboxActivities(deps: SandboxDeps) {
  return {
    async provisionSandbox(req: ProvisionRequest): Promise<SandboxRef> {
      const { dir, baseSha } = await cloneOnHost(deps.workDir, req, deps.gitToken);
      const container = await createSandboxContainer(deps.docker, deps.image, req, deps.hostId, deps.limits);
      try {
        await streamRepoIntoSandbox(deps.docker, container.id, dir);
      } catch (err) {
        await removeSandboxContainer(deps.docker, container.id);
        throw err;
      } finally {
        await fs.rm(path.dirname(dir), { recursive: true, force: true });
      }
      return { containerId: container.id, hostQueue: deps.hostQueue, baseSha };
    },

    async removeSandboxesOf(input: { workflowId: string }): Promise<{ removed: number }> {
      const found = await deps.docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABELS.workflowId}=${input.workflowId}`] } });
      for (const c of found) await removeSandboxContainer(deps.docker, c.Id);
      return { removed: found.length };
    },

    async removeSandbox(input: { containerId: string; workflowId: string }): Promise<{ removed: boolean }> {
      const removed = await removeSandboxContainer(deps.docker, input.containerId);
      await fs.rm(path.dirname(hostRepoDir(deps.workDir, input.workflowId)), { recursive: true, force: true });
      return { removed };
    },
  };
}
