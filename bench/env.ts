/**
 * `npm run bench:env`: what a prepared environment buys, measured through the provisionSandbox
 * activity itself (real Docker, PostgreSQL, git, the npm registry through the egress proxy):
 *  - cold: a fix of a project whose environment is not built yet — toolchain image, `npm ci` of
 *    the TypeScript eval fixture (dev/repos/env-config, 100+ packages) through the proxy, commit,
 *    then the sandbox; every cold run has a fresh key (BENCH_ENV_RUN in its env), so nothing is reused
 *  - warm: a later fix of that project at a newer commit: sandbox from the cached image with the
 *    repository moved to the fix's commit (a bundle of the delta)
 *  - the same warm start for a 60,000-file repository, beside the plain (no environment) path that
 *    streams the whole clone into the sandbox
 * The build runs in-process here (no Temporal in the loop: its workflow only deduplicates builds).
 * Writes bench/results/env.json. Runs: BENCH_COLD_RUNS (3), BENCH_WARM_RUNS (10).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { createSandboxActivities } from '../activities/sandbox.js';
import { createPrisma } from '../src/db/prisma.js';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { DEFAULT_SANDBOX_LIMITS } from '../src/sandbox/container.js';
import { buildEnvironment } from '../src/sandbox/environment-provision.js';
import { execInSandbox } from '../src/sandbox/exec.js';
import { upsertProject } from '../src/projects/project-store.js';
import { createBareRemote } from '../dev/fixture-remotes.js';
import type { EnvironmentSpec } from '../src/domain/environment/environment-spec.js';
import { quantile, runMain, writeResult } from './support.js';

const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 10);
const LARGE_FILES = 60_000;
const TARGETS = { warmReadyP50Ms: 1000, ratio: 20, warmReadyLargeRepoP50Ms: 1000 };
const TS_ENV: EnvironmentSpec = { toolchains: { node: '20' }, setup: 'npm ci --no-audit --no-fund', egress: { presets: ['npm'] } };

const p50 = (xs: number[]) => Math.round(quantile(xs, 0.5));
const gitIn = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'gc.auto=0', '-c', 'user.name=Bench', '-c', 'user.email=bench@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: 'pipe',
  });

/** A bare remote with `files` small files in nested folders. */
function largeRepo(root: string, files: number): string {
  const work = path.join(root, 'large-src');
  for (let i = 0; i < files; i++) {
    const dir = path.join(work, `pkg${i % 50}`, `mod${i % 40}`);
    if (i < 2000) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `file${i}.js`), `export const value${i} = ${i};\n`);
  }
  gitIn(work, 'init', '-q', '-b', 'main');
  gitIn(work, 'add', '-A');
  gitIn(work, 'commit', '-q', '-m', 'files');
  // Packed now, as a real repository is: otherwise a background auto-gc prunes loose objects
  // while the next clone copies them ("failed to copy file").
  gitIn(work, 'gc', '-q');
  const bare = path.join(root, 'large.git');
  execFileSync('git', ['clone', '-q', '--bare', work, bare]);
  execFileSync('git', ['config', 'receive.autogc', 'false'], { cwd: bare });
  fs.rmSync(work, { recursive: true, force: true });
  return bare;
}

/** One more commit on the remote's main: the fix's commit is newer than the environment's. */
function pushCommit(root: string, bare: string, n: number): void {
  const work = path.join(root, `push-${n}`);
  execFileSync('git', ['clone', '-q', '--depth', '1', `file://${bare}`, work], { stdio: 'pipe' });
  fs.writeFileSync(path.join(work, `CHANGE-${n}.md`), `change ${n}\n`);
  gitIn(work, 'add', '-A');
  gitIn(work, 'commit', '-q', '-m', `change ${n}`);
  gitIn(work, 'push', '-q', 'origin', 'HEAD:main');
  fs.rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const docker = new Docker();
  const prisma = createPrisma(config.DATABASE_URL);
  // Under .data, not /tmp: a 60,000-file repository is big, and /tmp is shared with other tools.
  const tmp = fs.mkdtempSync(path.join(PROJECT_ROOT, '.data', 'bench-env-'));
  const hostId = `bench-env-${os.hostname()}-${process.pid}`;
  const workDir = path.join(tmp, 'work');
  const caBundle = fs.existsSync(config.SANDBOX_CA_BUNDLE) ? config.SANDBOX_CA_BUNDLE : undefined;
  const buildDeps = { prisma, docker, workDir, baseImage: config.SANDBOX_IMAGE, limits: DEFAULT_SANDBOX_LIMITS, caBundle };
  const acts = createSandboxActivities({
    docker,
    image: config.SANDBOX_IMAGE,
    workDir,
    hostId,
    hostQueue: 'bench',
    prisma,
    buildEnvironment: ({ hostQueue: _queue, ...input }) => buildEnvironment(buildDeps, input),
  });
  const projects: string[] = [];
  let n = 0;

  /** A project with this environment, and a function that provisions a new fix of it (timed). */
  const project = async (name: string, bare: string, environment: EnvironmentSpec | null) => {
    const key = `bench-env-${name}-${process.pid}`;
    projects.push(key);
    const p = await upsertProject(prisma, { key, name, repoOwner: 'bench', repoName: name, cloneUrl: bare, environment });
    return async () => {
      const workflowId = `bench-env-${process.pid}-${n++}`;
      const bug = await prisma.bugReport.create({ data: { projectId: p.id, externalId: workflowId, workflowId, title: 'bench', description: 'bench' } });
      const started = performance.now();
      const ref = await acts.provisionSandbox({ workflowId, bugId: bug.id, projectKey: key, cloneUrl: bare, defaultBranch: 'main' });
      const ms = performance.now() - started;
      return { ms, ref, done: () => acts.removeSandbox({ containerId: ref.containerId, workflowId }) };
    };
  };
  const inSandbox = async (id: string, cmd: string) => (await execInSandbox(docker, id, ['bash', '-c', cmd], { timeoutMs: 120_000 })).stdout.toString().trim();

  try {
    // TypeScript fixture: cold builds, then warm starts at a newer commit.
    const tsBare = createBareRemote('env-config', path.join(tmp, 'env-config.git'));
    const cold: number[] = [];
    let warmProvision: Awaited<ReturnType<typeof project>> | undefined;
    let dependencies = 0;
    for (let i = 0; i < COLD_RUNS; i++) {
      warmProvision = await project(`ts${i}`, tsBare, { ...TS_ENV, env: { BENCH_ENV_RUN: `${process.pid}-${i}` } });
      const r = await warmProvision();
      cold.push(r.ms);
      dependencies = Number(await inSandbox(r.ref.containerId, 'npm ls --all --parseable 2>/dev/null | tail -n +2 | sort -u | wc -l'));
      console.log(`cold ${i + 1}: ${r.ms.toFixed(0)} ms (${dependencies} packages installed)`);
      await r.done();
    }
    pushCommit(tmp, tsBare, 1);
    const warm: number[] = [];
    for (let i = 0; i <= WARM_RUNS; i++) {
      const r = await warmProvision!();
      const files = await inSandbox(r.ref.containerId, 'test -f CHANGE-1.md && test -d node_modules/vitest && git status --porcelain | wc -l');
      if (files !== '0') throw new Error(`warm sandbox not at the fix's commit with its dependencies: ${files}`);
      await r.done();
      if (i === 0) continue; // the first pays for the new commit's fetch into the mirror
      warm.push(r.ms);
      console.log(`warm ${i}: ${r.ms.toFixed(0)} ms`);
    }

    // 60,000 files: warm start from the image vs. the plain path.
    const bigBare = largeRepo(tmp, LARGE_FILES);
    const big = await project('large', bigBare, { toolchains: { node: '18' }, setup: 'true' });
    const bigCold = await big();
    console.log(`large repo, cold (environment build): ${bigCold.ms.toFixed(0)} ms`);
    await bigCold.done();
    pushCommit(tmp, bigBare, 2);
    const bigWarm: number[] = [];
    for (let i = 0; i <= WARM_RUNS; i++) {
      const r = await big();
      const count = Number(await inSandbox(r.ref.containerId, 'git ls-files | wc -l'));
      if (count !== LARGE_FILES + 1) throw new Error(`expected ${LARGE_FILES + 1} files, found ${count}`);
      await r.done();
      if (i === 0) continue;
      bigWarm.push(r.ms);
      console.log(`large repo, warm ${i}: ${r.ms.toFixed(0)} ms`);
    }
    const plain = await project('large-plain', bigBare, null);
    const bigPlain: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await plain();
      bigPlain.push(r.ms);
      console.log(`large repo, plain (streamed clone): ${r.ms.toFixed(0)} ms`);
      await r.done();
    }

    const result = {
      fixture: 'env-config (TypeScript, npm ci through the egress proxy)',
      dependencies,
      coldRuns: cold.length,
      coldSetupP50Ms: p50(cold),
      warmRuns: warm.length,
      warmReadyP50Ms: p50(warm),
      warmReadyP95Ms: Math.round(quantile(warm, 0.95)),
      ratio: Math.round((p50(cold) / p50(warm)) * 10) / 10,
      largeRepoFiles: LARGE_FILES,
      warmReadyLargeRepoP50Ms: p50(bigWarm),
      plainReadyLargeRepoP50Ms: p50(bigPlain),
      largeRepoSpeedup: Math.round((p50(bigPlain) / p50(bigWarm)) * 10) / 10,
      targets: TARGETS,
      met: {
        warmReadyP50Ms: p50(warm) <= TARGETS.warmReadyP50Ms,
        ratio: p50(cold) / p50(warm) >= TARGETS.ratio,
        warmReadyLargeRepoP50Ms: p50(bigWarm) <= TARGETS.warmReadyLargeRepoP50Ms,
      },
      cpus: os.cpus().length,
    };
    writeResult('env', result);
  } finally {
    const rows = await prisma.environmentImage.findMany({ where: { host: hostId } });
    for (const r of rows)
      await docker
        .getImage(r.tag)
        .remove({ force: true })
        .catch(() => undefined);
    await prisma.environmentImage.deleteMany({ where: { host: hostId } });
    await prisma.project.deleteMany({ where: { key: { in: projects } } });
    await prisma.$disconnect();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
