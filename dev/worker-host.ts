/**
 * A worker host as production runs one (`npm run worker` in its own process), on a given Docker
 * engine and host id, sharing the caller's Temporal, PostgreSQL and stand-ins through the
 * environment. With dev/docker-engine.ts: several hosts on one machine for tests, chaos and benches.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnEntry } from './entry-process.js';
import { taskQueues } from '../temporal.config.js';

export interface WorkerHostOptions {
  hostId: string;
  /** DOCKER_HOST of the host's engine; the default engine when absent */
  dockerHost?: string;
  /** appended to; the worker's stdout and stderr */
  logFile: string;
  /** more environment (stand-in URLs, BUGFIX_TASK_QUEUE, ...) over this process's own */
  env?: Record<string, string | undefined>;
  /** how long the worker may take to poll (it bundles the workflow code first) */
  readyTimeoutMs?: number;
}

export interface WorkerHost {
  hostId: string;
  /** the task queue of this host's sandbox activities */
  hostQueue: string;
  process: ChildProcess;
  /** SIGKILL: the worker dies mid-activity, as on a lost machine */
  kill(): Promise<void>;
  /** SIGTERM: the worker drains and exits */
  stop(): Promise<void>;
}

export async function startWorkerHost(opts: WorkerHostOptions): Promise<WorkerHost> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, BUGFIX_HOST_ID: opts.hostId };
  if (opts.dockerHost) env.DOCKER_HOST = opts.dockerHost;
  else delete env.DOCKER_HOST;
  const worker = await spawnEntry({
    entry: 'src/worker-main.ts',
    env,
    logFile: opts.logFile,
    ready: /\[worker\] polling/,
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  return {
    hostId: opts.hostId,
    hostQueue: `${env.BUGFIX_TASK_QUEUE ?? taskQueues.main}-host-${opts.hostId}`,
    process: worker.process,
    kill: worker.kill,
    stop: worker.stop,
  };
}
