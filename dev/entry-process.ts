/**
 * One of the service's entry points (src/worker-main.ts, src/http-main.ts) in a process of its
 * own, as production runs it: started with node and tsx's loader (not the tsx wrapper, so a
 * SIGKILL hits the process itself), its output appended to a log file, ready once it prints the
 * line it prints when it serves. Used by the multi-host harness, tests and benches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { PROJECT_ROOT } from '../src/config.js';

export interface EntryProcessOptions {
  /** e.g. src/worker-main.ts */
  entry: string;
  /** the whole environment of the process */
  env: NodeJS.ProcessEnv;
  /** appended to: its stdout and stderr */
  logFile: string;
  /** the line that says it serves; its match is returned */
  ready: RegExp;
  readyTimeoutMs?: number;
  /** Node flags before the loader, e.g. --cpu-prof */
  nodeArgs?: string[];
}

export interface EntryProcess {
  process: ChildProcess;
  /** what `ready` matched */
  ready: RegExpExecArray;
  /** SIGKILL: dies mid-work, as on a lost machine */
  kill(): Promise<void>;
  /** SIGTERM: drains and exits */
  stop(): Promise<void>;
}

export async function spawnEntry(opts: EntryProcessOptions): Promise<EntryProcess> {
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', opts.entry], {
    cwd: PROJECT_ROOT,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  child.stderr!.pipe(log, { end: false });
  let seen = '';
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.entry} was not ready within the timeout: see ${opts.logFile}`)), opts.readyTimeoutMs ?? 120_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (seen.length < 1e5) seen += chunk.toString();
      const m = opts.ready.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`${opts.entry} exited (${String(code ?? signal)}) before it was ready: see ${opts.logFile}`));
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
    return { process: child, ready: await ready, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
  } catch (err) {
    await end('SIGKILL');
    throw err;
  }
}
