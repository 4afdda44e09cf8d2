/**
 * The optional per-project install step (Project.sandbox.installCommand), run once the repository
 * is in the workspace and before the agent starts — on the base commit as cloned, also when a lost
 * sandbox is rebuilt: its checkpoint (agent-written files) is restored only after this step.
 *
 * Network: sandboxes run with NetworkMode 'none'. A project may set `installNetwork: true` to get
 * a network for this step only, and it is granted only when the operator also names a Docker
 * network (SANDBOX_INSTALL_NETWORK); the container is disconnected again, and put back on 'none',
 * before the agent's first tool call. Off by default, and never enabled in the test suite (the
 * machines it runs on allow no container networking) — so that branch is untested here.
 */
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { execInSandbox } from './exec.js';

const INSTALL_TIMEOUT_MS = 15 * 60_000;

export async function runInstallStep(docker: Docker, containerId: string, command: string, network?: string): Promise<void> {
  const container = docker.getContainer(containerId);
  if (network) {
    await docker.getNetwork('none').disconnect({ Container: containerId, Force: true });
    await docker.getNetwork(network).connect({ Container: containerId });
  }
  try {
    // The command comes from the project's configuration (an admin), never from a report.
    // Output is kept as head and tail only (execInSandbox's default): an install that logs for
    // 15 minutes costs the worker a fixed amount of memory, and the error needs only the end.
    const r = await execInSandbox(docker, containerId, ['bash', '-c', command], { timeoutMs: INSTALL_TIMEOUT_MS });
    if (r.exitCode !== 0) {
      const tail = r.stderr.toString('utf8').slice(-2000);
      throw ApplicationFailure.nonRetryable(`install step \`${command}\` exited ${r.exitCode}: ${tail}`, 'InstallFailed');
    }
  } finally {
    if (network) {
      await docker.getNetwork(network).disconnect({ Container: containerId, Force: true });
      await docker.getNetwork('none').connect({ Container: containerId });
      // Verify rather than trust: the agent must never start with a network.
      const nets = Object.keys((await container.inspect()).NetworkSettings.Networks ?? {});
      if (nets.some((n) => n !== 'none')) throw new Error(`sandbox still attached to ${nets.join(', ')} after the install step`);
    }
  }
}
