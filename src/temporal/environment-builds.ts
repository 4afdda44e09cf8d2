/**
 * Starts (or joins) the build workflow of an environment image and waits for it. "Use existing"
 * is what makes concurrent fixes share one build: the second start returns the running one.
 * A closed run (done, or failed) does not block a new one: a later fix after an eviction or a
 * fixed setup builds again.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { EnvironmentBuildInput, environmentBuildWorkflow } from '../../workflows/environment-build.js';
import type { ReadyEnvironment } from '../sandbox/environment-images.js';
import { cancellationSignal } from './activity-heartbeat.js';

export const environmentBuildId = (host: string, key: string) => `bugfix-env.${host}.${key}`;

export function environmentBuilds(client: Client, taskQueue: string) {
  return async (input: EnvironmentBuildInput): Promise<ReadyEnvironment> => {
    const handle = await client.workflow.start<typeof environmentBuildWorkflow>('environmentBuildWorkflow', {
      workflowId: environmentBuildId(input.host, input.key),
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `environment of ${input.projectKey} on ${input.host}`,
    });
    const signal = cancellationSignal();
    const cancelled = new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    try {
      // A fix stopped while it waits stops waiting; the build goes on for the fixes that follow.
      return await Promise.race([handle.result(), cancelled]);
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const cause = err.cause as { message?: string; cause?: { message?: string } } | undefined;
        const message = cause?.cause?.message ?? cause?.message ?? err.message;
        throw ApplicationFailure.nonRetryable(message, 'EnvironmentSetupFailed');
      }
      throw err;
    }
  };
}
