/**
 * The sandbox reaper: removes this host's sandbox containers whose workflow is closed or unknown
 * to Temporal (a worker crashed before cleanup, a lost host came back, a workflow was terminated).
 * Runs on the host's own task queue, because only this host's Docker engine holds its containers;
 * a Temporal Schedule starts it (src/temporal/reaper-schedule.ts).
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type Docker from 'dockerode';
import { removeSandboxContainer, SANDBOX_LABELS } from '../src/sandbox/container.js';
import type { ShellPool } from '../src/sandbox/shell-pool.js';
import type { PrismaClient } from '../src/db/prisma.js';
import { evictEnvironmentImages, type EvictionResult } from '../src/sandbox/environment-images.js';
import type { FixStatus } from '../src/domain/fix/fix.js';

export interface ReapInput {
  /** containers younger than this are left alone (a provisioning may still be reporting back) */
  minAgeMs?: number;
  /**
   * Only containers created before this time (ms since the epoch). The startup sweep passes its
   * worker's start with minAgeMs 0: nothing older can be a provisioning of this worker.
   */
  createdBeforeMs?: number;
  /**
   * Also the sandboxes of running fixes that work on another host now (asked through the fix's
   * status query): what a lost host still holds when it comes back. Only for the startup sweep:
   * a sandbox being provisioned is not yet the fix's, so younger ones must be left alone.
   */
  moved?: boolean;
}

export interface ReapResult {
  checked: number;
  removed: Array<{ containerId: string; workflowId: string; why: string }>;
  /** environment images evicted (least recently used beyond the cache budget, or unknown) */
  images?: EvictionResult;
}

export const DEFAULT_REAP_MIN_AGE_MS = 10 * 60_000;

export interface ReaperDeps {
  docker: Docker;
  temporal?: Client;
  hostId: string;
  /** this host's task queue: a fix whose sandbox is on another queue has moved away */
  hostQueue?: string;
  shells?: ShellPool;
  /** with both: environment images are evicted too */
  prisma?: PrismaClient;
  environmentCacheBytes?: number;
}

export function createReaperActivities(deps: ReaperDeps) {
  /** Why the container should go, or undefined when its workflow is still running. */
  const verdict = async (workflowId: string | undefined, containerId: string, moved: boolean): Promise<string | undefined> => {
    if (!workflowId) return 'no workflow label';
    try {
      const handle = deps.temporal!.workflow.getHandle(workflowId);
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') return `workflow ${d.status.name.toLowerCase()}`;
      if (!moved || !deps.hostQueue) return undefined;
      // Not a fix, or no worker answers: keep it (the reaper looks again once the fix closes).
      const status = await deps.temporal!.withDeadline(Date.now() + 10_000, () => handle.query<FixStatus>('status')).catch(() => undefined);
      const now = status?.sandbox;
      return now && now.hostQueue !== deps.hostQueue && now.containerId !== containerId ? `the fix works on ${now.hostQueue} now` : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'workflow unknown';
      throw err;
    }
  };

  return {
    async reapSandboxes(input: ReapInput = {}): Promise<ReapResult> {
      if (!deps.temporal) throw ApplicationFailure.nonRetryable('the reaper needs a Temporal client in the activity deps', 'ReaperMisconfigured');
      const minAgeMs = input.minAgeMs ?? DEFAULT_REAP_MIN_AGE_MS;
      // Only this host's sandboxes: another host's engine may share nothing with this one.
      const found = await deps.docker.listContainers({
        all: true,
        filters: { label: [`${SANDBOX_LABELS.managed}=true`, `${SANDBOX_LABELS.host}=${deps.hostId}`] },
      });
      const removed: ReapResult['removed'] = [];
      for (const c of found) {
        if (Date.now() - c.Created * 1000 < minAgeMs) continue;
        // Docker gives seconds: a container of the start's own second is left to the reaper.
        if (input.createdBeforeMs !== undefined && c.Created * 1000 >= Math.floor(input.createdBeforeMs / 1000) * 1000) continue;
        const workflowId = c.Labels[SANDBOX_LABELS.workflowId];
        const why = await verdict(workflowId, c.Id, input.moved ?? false);
        if (!why) continue;
        deps.shells?.close(c.Id);
        if (await removeSandboxContainer(deps.docker, c.Id)) removed.push({ containerId: c.Id, workflowId: workflowId ?? '', why });
      }
      // After the containers: an image a removed sandbox held can go now.
      const images =
        deps.prisma && deps.environmentCacheBytes ? await evictEnvironmentImages(deps.prisma, deps.docker, deps.hostId, deps.environmentCacheBytes) : undefined;
      return { checked: found.length, removed, ...(images ? { images } : {}) };
    },
  };
}
