/**
 * `npm run bench:provision`: time until a sandbox is ready for the agent — host clone, hardened
 * container created and started, a 2,000-file repository streamed into its tmpfs workspace —
 * through the provisionSandbox activity itself. Writes bench/results/provision.json.
 * Runs: BENCH_RUNS (default 12) after one warm-up; each sandbox is removed between runs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { createSandboxActivities } from '../activities/sandbox.js';
import { execInSandbox } from '../src/sandbox/exec.js';
import { loadConfig } from '../src/config.js';
import { quantile, runMain, writeResult } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 12);
const FILES = 2000;
const TARGET_P50_MS = 500;

/** A bare remote with FILES small source files in nested folders, one commit. */
function makeRepo(root: string): string {
  const work = path.join(root, 'src-repo');
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(work, `pkg${i % 20}`, `mod${i % 7}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `file${i}.js`), `export const value${i} = ${i};\n`.repeat(20));
  }
  const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, stdio: 'pipe' });
  git(['init', '-q', '-b', 'main'], work);
  git(['add', '-A'], work);
  git(['-c', 'user.name=Bench', '-c', 'user.email=bench@example.invalid', 'commit', '-q', '-m', 'files'], work);
  const bare = path.join(root, 'repo.git');
  git(['clone', '-q', '--bare', work, bare], root);
  return bare;
}

async function main(): Promise<void> {
  const docker = new Docker();
  const config = loadConfig();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-bench-provision-'));
  const bare = makeRepo(tmp);
  const acts = createSandboxActivities({
    docker,
    image: config.SANDBOX_IMAGE,
    workDir: path.join(tmp, 'work'),
    hostId: `bench-${os.hostname()}`,
    hostQueue: 'bench',
  });
  const times: number[] = [];
  try {
    for (let i = 0; i <= RUNS; i++) {
      const workflowId = `bench-provision-${Date.now()}-${i}`;
      const started = performance.now();
      const ref = await acts.provisionSandbox({
        workflowId,
        bugId: '00000000-0000-0000-0000-000000000000',
        projectKey: 'bench',
        cloneUrl: bare,
        defaultBranch: 'main',
      });
      const ms = performance.now() - started;
      // Ready means the files are there: count them (outside the timed part).
      const count = (await execInSandbox(docker, ref.containerId, ['git', 'ls-files'])).stdout.toString().split('\n').filter(Boolean).length;
      if (count !== FILES) throw new Error(`expected ${FILES} files in the workspace, found ${count}`);
      await acts.removeSandbox({ containerId: ref.containerId, workflowId });
      if (i === 0) continue; // warm-up: image layers and page cache
      times.push(ms);
      console.log(`run ${i}: ${ms.toFixed(0)} ms (${count} files)`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  writeResult('provision', {
    runs: times.length,
    files: FILES,
    p50Ms: Math.round(quantile(times, 0.5)),
    p95Ms: Math.round(quantile(times, 0.95)),
    minMs: Math.round(Math.min(...times)),
    targetP50Ms: TARGET_P50_MS,
    cpus: os.cpus().length,
  });
}

runMain(main);
