/**
 * Starts a Temporal dev server (the Temporal CLI's `server start-dev`: server, Web UI and SQLite in
 * one process) with our search attributes, and stops it. Used by the demo, `npm start` and tests.
 * The CLI comes from TEMPORAL_CLI, PATH, or .tools/venv (installed by scripts/bootstrap.sh).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../../temporal.config.js';
import { PROJECT_ROOT } from '../config.js';

export function temporalCliPath(): string {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  const onPath = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const local = path.join(PROJECT_ROOT, '.tools', 'venv', 'bin', 'temporal');
  if (fs.existsSync(local)) return local;
  throw new Error('Temporal CLI not found: run `npm run bootstrap` (installs it into .tools/venv) or set TEMPORAL_CLI');
}

/** A port nothing listens on: `preferred` when it is free, else one the OS picks. */
export async function freePort(preferred = 0, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(preferred, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' && preferred !== 0 ? resolve(freePort(0, host)) : reject(err)));
  });
}

export async function isTemporalUp(address: string): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await conn.workflowService.getSystemInfo({});
      return true;
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}

export const DEV_SERVER_DYNAMIC_CONFIG = ['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'];

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port?: number;
  /** omit for a headless server */
  uiPort?: number;
  /** omit for an in-memory database */
  dbFile?: string;
  logFile?: string;
  /** where the Web UI asks to decode encrypted payloads (our HTTP server's /codec) */
  uiCodecEndpoint?: string;
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', 'default', '--log-level', 'warn'];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  if (opts.uiPort && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  else args.push('--headless');
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  for (const flag of searchAttributeFlags) args.push('--search-attribute', flag);
  // Priority (CRITICAL fixes dispatched first from a backlog) is on by default in server 1.32,
  // but it orders each task-queue partition on its own: one partition keeps the order global on
  // this one-node server (test/http/priority.test.ts fails with the default of 4).
  for (const value of DEV_SERVER_DYNAMIC_CONFIG) args.push('--dynamic-config-value', value);

  const log = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  // Own process group: a terminal's Ctrl-C must not kill the server while the workflows it hosts
  // still clean up. The owner stops it; if the owner dies, the exit hook below still kills it.
  const child: ChildProcess = spawn(temporalCliPath(), args, { stdio: ['ignore', log, log], detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const address = `127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal server start-dev exited with ${child.exitCode}${opts.logFile ? ` (see ${opts.logFile})` : ''}`);
    if (await isTemporalUp(address)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('temporal server start-dev did not answer within 60 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    address,
    pid: child.pid!,
    uiUrl: opts.uiPort ? `http://localhost:${opts.uiPort}` : undefined,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
