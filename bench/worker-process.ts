/** A worker in its own process, as production runs it (`npm run worker`), for the load and chaos runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { PROJECT_ROOT } from '../src/config.js';

export interface StandInUrls {
  anthropic: string;
  github: string;
  githubToken: string;
}

export function spawnWorkerProcess(standIns: StandInUrls, logFile: string, env: Record<string, string> = {}): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  // node itself with tsx's loader, not the tsx wrapper: a SIGKILL must hit the worker, and its
  // peak RSS is the worker's own.
  return spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      ANTHROPIC_BASE_URL: standIns.anthropic,
      ANTHROPIC_API_KEY: 'stand-in-key',
      GITHUB_API_URL: standIns.github,
      GITHUB_TOKEN: standIns.githubToken,
      ...env,
    },
    stdio: ['ignore', out, out],
  });
}

/** Peak resident set size of a live process, in MB (Linux: VmHWM). */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}
