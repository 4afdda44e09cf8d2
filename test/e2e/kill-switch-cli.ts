/** Runs the `bugfix` CLI as a child process against this test file's Temporal and task queue. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';
import { taskQueues } from '../../temporal.config.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TSX = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts');

export function cli(args: string[]): Promise<CliRun> {
  const env = { ...process.env, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, BUGFIX_TASK_QUEUE: taskQueues.main };
  return new Promise((resolve) => {
    execFile(TSX, [MAIN, ...args], { cwd: PROJECT_ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
