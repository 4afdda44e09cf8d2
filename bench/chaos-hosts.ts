/**
 * The worker hosts of `npm run chaos`: each its own Docker engine (dev/docker-engine.ts) and a
 * worker process on it (dev/worker-host.ts), with a supervisor like systemd's that starts a new
 * worker whenever the host's worker is gone. A host can be lost (its worker SIGKILLed and its
 * engine killed or stopped) and comes back later, as a rebooted machine does: engine first, then a
 * worker whose startup sweep removes what the host still holds of fixes that ended or moved.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { startDockerEngine, type DockerEngine } from '../dev/docker-engine.js';
import { startWorkerHost, type WorkerHost } from '../dev/worker-host.js';

export interface ChaosHost {
  name: string;
  hostId: string;
  engine: DockerEngine;
  /** the live worker, once it polls */
  worker?: WorkerHost;
  workersStarted: number;
  /** lost: the supervisor starts no worker until the host is back */
  down: boolean;
  /** the host's return, while it is down */
  returning?: Promise<void>;
}

export interface ChaosHostsOptions {
  names: string[];
  seed: number;
  image: string;
  /** the run's log directory: one log file per worker start */
  dir: string;
  /** stand-in URLs and the like, over this process's environment */
  env: Record<string, string>;
  rnd: () => number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startChaosHosts(opts: ChaosHostsOptions) {
  const hosts: ChaosHost[] = [];
  for (const name of opts.names) {
    const engine = await startDockerEngine({ name: `chaos-${name}`, images: [opts.image], log: opts.log });
    hosts.push({ name, hostId: `chaos-${opts.seed}-${name}`, engine, workersStarted: 0, down: false });
  }
  let supervising = true;
  let unexpectedExits = 0;
  const logOf = (h: ChaosHost) => path.join(opts.dir, `worker-${h.name}-${h.workersStarted}.log`);

  const supervise = async (h: ChaosHost): Promise<void> => {
    while (supervising) {
      if (h.down) {
        await sleep(200);
        continue;
      }
      h.workersStarted += 1;
      let worker: WorkerHost;
      try {
        worker = await startWorkerHost({ hostId: h.hostId, dockerHost: h.engine.dockerHost, logFile: logOf(h), env: opts.env });
      } catch (err) {
        // SIGKILLed while it started (a fault), or it failed: the next one starts.
        if (supervising && !h.down) opts.log(`host ${h.name}: worker ${h.workersStarted} did not start: ${(err as Error).message}`);
        await sleep(300 + opts.rnd() * 1200);
        continue;
      }
      if (h.down || !supervising) {
        await worker.kill();
        continue;
      }
      h.worker = worker;
      const [code, signal] =
        worker.process.exitCode === null && worker.process.signalCode === null
          ? await once(worker.process, 'exit')
          : [worker.process.exitCode, worker.process.signalCode];
      h.worker = undefined;
      if (signal !== 'SIGKILL' && supervising) {
        unexpectedExits += 1;
        opts.log(`host ${h.name}: worker ${h.workersStarted} exited on its own (${String(code ?? signal)}); see ${logOf(h)}`);
      }
      await sleep(300 + opts.rnd() * 1200);
    }
  };
  const loops = hosts.map((h) => supervise(h));

  return {
    hosts,
    get unexpectedExits() {
      return unexpectedExits;
    },
    /** The engines of hosts that are up. */
    liveEngines: (): Docker[] => hosts.filter((h) => !h.down).map((h) => h.engine.docker),

    /** SIGKILL one live worker (the supervisor starts another). */
    async killWorker(): Promise<string | undefined> {
      const live = hosts.filter((h) => h.worker && !h.down);
      const h = live[Math.floor(opts.rnd() * live.length)];
      if (!h?.worker) return undefined;
      await h.worker.kill();
      return h.name;
    },

    /**
     * Loses one host while every other host is up: its worker SIGKILLed, its engine killed or
     * stopped; it comes back after `downMs`.
     */
    async loseHost(downMs: number): Promise<string | undefined> {
      if (hosts.some((h) => h.down)) return undefined;
      const h = hosts[Math.floor(opts.rnd() * hosts.length)]!;
      h.down = true;
      const hard = opts.rnd() < 0.5;
      await h.worker?.kill();
      await (hard ? h.engine.kill() : h.engine.stop());
      opts.log(`host ${h.name}: lost (worker SIGKILLed, engine ${hard ? 'killed' : 'stopped'}); back in ${(downMs / 1000).toFixed(0)} s`);
      h.returning = (async () => {
        await sleep(downMs);
        h.engine = await startDockerEngine({ name: `chaos-${h.name}`, log: opts.log });
        h.down = false;
        h.returning = undefined;
        opts.log(`host ${h.name}: back`);
      })();
      return `${h.name} (${hard ? 'engine killed' : 'engine stopped'})`;
    },

    /**
     * The end: every host back, its latest worker's startup sweep done, then the workers drain
     * (SIGTERM) and the supervisors stop.
     */
    async settle(): Promise<void> {
      for (const h of hosts) await h.returning;
      const until = Date.now() + 120_000;
      for (const h of hosts) {
        while (Date.now() < until && !(h.worker && fs.readFileSync(logOf(h), 'utf8').includes('startup sweep'))) await sleep(500);
      }
      supervising = false;
      await Promise.all(hosts.map((h) => h.worker?.stop()));
      await Promise.all(loops);
    },

    async stopEngines(): Promise<void> {
      for (const h of hosts) await h.engine.stop();
    },
  };
}

export type ChaosHosts = Awaited<ReturnType<typeof startChaosHosts>>;
