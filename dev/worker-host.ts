/**
 * A worker host as production runs one (`npm run worker` in its own process), on a given Docker
 * engine and host id, sharing the caller's Temporal, PostgreSQL and stand-ins through the
 * environment. With dev/docker-engine.ts: several hosts on one machine for tests, chaos and benches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { PROJECT_ROOT } from '../src/config.js';
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

const READY_LINE = '[worker] polling';

export async function startWorkerHost(opts: WorkerHostOptions): Promise<WorkerHost> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, BUGFIX_HOST_ID: opts.hostId };
  if (opts.dockerHost) env.DOCKER_HOST = opts.dockerHost;
  else delete env.DOCKER_HOST;
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  // node itself with tsx's loader, not the tsx wrapper: a SIGKILL must hit the worker.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  child.stderr!.pipe(log, { end: false });
  let seen = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${opts.hostId} did not poll within the timeout: see ${opts.logFile}`)),
      opts.readyTimeoutMs ?? 120_000,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (seen.length < 1e5) seen += chunk.toString();
      if (seen.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`worker ${opts.hostId} exited (${String(code ?? signal)}) before polling: see ${opts.logFile}`));
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
    log.end();
  };
  try {
    await ready;
  } catch (err) {
    await end('SIGKILL');
    throw err;
  }
  return {
    hostId: opts.hostId,
    hostQueue: `${env.BUGFIX_TASK_QUEUE ?? taskQueues.main}-host-${opts.hostId}`,
    process: child,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}
