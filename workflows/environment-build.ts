/**
 * One build of a project's environment image on one host, started by the provisioning of every fix
 * that needs it under the id `bugfix-env.<host>.<key>` with "use existing": concurrent fixes of a
 * project wait for the same run, and a build happens once even across workers and crashes (the
 * activity is retried, the workflow survives). A failed build ends the run, so the next fix tries
 * again with a new one.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { BuildInput } from '../src/sandbox/environment-provision.js';
import type { ReadyEnvironment } from '../src/sandbox/environment-images.js';
import { DEFAULT_SETUP_TIMEOUT_MINUTES } from '../src/domain/environment/environment-spec.js';

export interface EnvironmentBuildInput extends BuildInput {
  /** the host's own queue: the image must be built where the fix's sandbox will run */
  hostQueue: string;
}

export async function environmentBuildWorkflow(input: EnvironmentBuildInput): Promise<ReadyEnvironment> {
  const setupMinutes = input.spec.setupTimeoutMinutes ?? DEFAULT_SETUP_TIMEOUT_MINUTES;
  const acts = proxyActivities<Activities>({
    taskQueue: input.hostQueue,
    scheduleToStartTimeout: '5 minutes',
    // Toolchain download and image commit come on top of the setup's own limit.
    startToCloseTimeout: `${setupMinutes + 15} minutes`,
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['EnvironmentSetupFailed'] },
    summary: `build environment ${input.key} for ${input.projectKey}`,
  });
  const { hostQueue: _queue, ...build } = input;
  return acts.buildEnvironmentImage(build);
}
