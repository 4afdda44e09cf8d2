/**
 * A second Docker engine on this machine, standing in for another worker host: its own `dockerd`
 * with its own data root, exec root, socket and pid file, no bridge and no iptables (this
 * workplace's network rule). Images come from the default engine (`docker save` piped into this
 * engine's load, never a pull). Tests, chaos and benches start one per extra host; `stop()` shuts
 * it down cleanly, `kill()` takes it away as a lost machine would.
 *
 * The data root persists (under BUGFIX_ENGINES_DIR) so a restart finds its containers and images,
 * as a host coming back does, and a second run does not load the images again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';

export interface DockerEngine {
  name: string;
  socketPath: string;
  /** what a worker of this host gets as DOCKER_HOST */
  dockerHost: string;
  docker: Docker;
  pid: number;
  /** SIGTERM: dockerd stops its containers (not removing them) and exits */
  stop(): Promise<void>;
  /** SIGKILL to dockerd and its containerd: the host is lost */
  kill(): Promise<void>;
  /** stops the engine and deletes its data root and exec root (images included: a test's throwaway host) */
  remove(): Promise<void>;
}

export interface EngineOptions {
  /** short name: the socket is /run/bugfix-<name>.sock */
  name: string;
  /** images copied from the default engine when this engine lacks them (by image id) */
  images?: string[];
  /** where data roots live (default BUGFIX_ENGINES_DIR or /var/lib/bugfix-engines) */
  enginesDir?: string;
  log?: (line: string) => void;
  /** how long dockerd may take to answer */
  readyTimeoutMs?: number;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const readPid = (file: string): number | undefined => {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > until) return false;
    await sleep(100);
  }
  return true;
}

/** Ends a dockerd a crashed run left behind (its pid file names it), so this one can take its paths. */
async function endLeftover(pidFile: string, log: (l: string) => void): Promise<void> {
  const pid = readPid(pidFile);
  if (!pid || !alive(pid)) return;
  log(`engine: ending leftover dockerd ${pid}`);
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 20_000))) process.kill(pid, 'SIGKILL');
}

/** Copies images the engine lacks from the default engine (same image id means already there). */
export async function loadImages(from: Docker, to: Docker, images: string[], log: (l: string) => void = () => undefined): Promise<void> {
  for (const name of images) {
    const source = await from.getImage(name).inspect();
    const present = await to
      .getImage(name)
      .inspect()
      .then((i) => i.Id === source.Id)
      .catch(() => false);
    if (present) continue;
    const started = Date.now();
    const tar = await from.getImage(name).get();
    const progress = await to.loadImage(tar);
    await new Promise<void>((resolve, reject) => to.modem.followProgress(progress, (err) => (err ? reject(err) : resolve())));
    log(`engine: loaded ${name} in ${Date.now() - started} ms`);
  }
}

export async function startDockerEngine(opts: EngineOptions): Promise<DockerEngine> {
  const log = opts.log ?? (() => undefined);
  if (!/^[a-z0-9-]{1,20}$/.test(opts.name)) throw new Error(`engine name ${JSON.stringify(opts.name)}: use up to 20 of a-z, 0-9, -`);
  const root = path.join(opts.enginesDir ?? process.env.BUGFIX_ENGINES_DIR ?? '/var/lib/bugfix-engines', opts.name);
  // Short paths: containerd's socket lives under the exec root and unix socket paths are limited.
  const execRoot = `/run/bugfix-${opts.name}`;
  const socketPath = `/run/bugfix-${opts.name}.sock`;
  const pidFile = path.join(execRoot, 'dockerd.pid');
  fs.mkdirSync(path.join(root, 'data'), { recursive: true });
  fs.mkdirSync(execRoot, { recursive: true });
  await endLeftover(pidFile, log);

  const logFd = fs.openSync(path.join(root, 'dockerd.log'), 'a');
  const child: ChildProcess = spawn(
    'dockerd',
    [
      `--data-root=${path.join(root, 'data')}`,
      `--exec-root=${path.join(execRoot, 'exec')}`,
      `-H=unix://${socketPath}`,
      `--pidfile=${pidFile}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      // The default engine's storage driver works on this file system (ENVIRONMENT.md).
      '--storage-driver=overlay2',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  fs.closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const docker = new Docker({ socketPath });
  const until = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dockerd ${opts.name} exited with ${child.exitCode}: see ${path.join(root, 'dockerd.log')}`);
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`dockerd ${opts.name} did not answer on ${socketPath}`);
    }
    await sleep(200);
  }
  log(`engine: ${opts.name} answers on ${socketPath} (pid ${child.pid})`);
  if (opts.images?.length) await loadImages(new Docker(), docker, opts.images, log);

  const containerdPid = () => readPid(path.join(execRoot, 'exec', 'containerd', 'containerd.pid'));
  const engine: DockerEngine = {
    name: opts.name,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    docker,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // dockerd gives each container 10 s (sandboxes run with an init and stop at once).
      if (!(await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]))) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async kill() {
      const containerd = containerdPid();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      if (containerd && alive(containerd)) {
        process.kill(containerd, 'SIGKILL');
        await waitForExit(containerd, 5_000);
      }
    },
    async remove() {
      await engine.stop();
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(execRoot, { recursive: true, force: true });
    },
  };
  return engine;
}
