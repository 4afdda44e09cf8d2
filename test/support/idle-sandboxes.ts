/**
 * Idle containers labelled as fix sandboxes (the labels the reaper and the sweeps select by), for
 * tests of what removes them; each test removes what it created with `removeAll`.
 */
import Docker from 'dockerode';
import { loadConfig } from '../../src/config.js';
import { removeSandboxContainer, SANDBOX_LABELS } from '../../src/sandbox/container.js';

export function idleSandboxes(docker = new Docker()) {
  const created: string[] = [];
  return {
    async start(labels: { workflowId: string; host: string; project?: string }): Promise<string> {
      const c = await docker.createContainer({
        Image: loadConfig().SANDBOX_IMAGE,
        Cmd: ['sleep', '600'],
        Labels: {
          [SANDBOX_LABELS.managed]: 'true',
          [SANDBOX_LABELS.workflowId]: labels.workflowId,
          [SANDBOX_LABELS.host]: labels.host,
          ...(labels.project ? { [SANDBOX_LABELS.project]: labels.project } : {}),
        },
        HostConfig: { NetworkMode: 'none', Init: true },
      });
      await c.start();
      created.push(c.id);
      return c.id;
    },
    exists: (id: string): Promise<boolean> =>
      docker
        .getContainer(id)
        .inspect()
        .then(
          () => true,
          () => false,
        ),
    async removeAll(): Promise<void> {
      for (const id of created) await removeSandboxContainer(docker, id).catch(() => undefined);
    },
  };
}
