/**
 * An HTTP API process on its own (`npm run api`, src/http-main.ts), as production runs it apart
 * from the workers: a bench that measures answers measures the API's own work, not a worker's
 * activities sharing its event loop. BENCH_API_NODE_ARGS adds Node flags to it, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { PROJECT_ROOT } from '../src/config.js';

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

export async function spawnApiProcess(logFile: string, env: Record<string, string> = {}): Promise<ApiProcess> {
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/http-main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the API process did not listen within 60 s (log: ${logFile})`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /\[api\] listening on (http:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the API process exited with ${code} (log: ${logFile})`)));
  });
  return {
    child,
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
