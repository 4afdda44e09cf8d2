/**
 * `npm run chaos:seeds`: `npm run chaos` over several seeds in a row, each run in its own process
 * (the seed picks its task queue and host ids when the run loads). The seeds in CHAOS_SEEDS
 * (comma-separated) first, then random ones until CHAOS_RUNS runs (default 5). Writes
 * bench/results/chaos-seeds.json with each run's figures; exits 1 when any run missed a target.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import { runMain, writeResult } from './support.js';

const RUNS = Number(process.env.CHAOS_RUNS ?? 5);
const GIVEN = (process.env.CHAOS_SEEDS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map(Number);

async function main(): Promise<void> {
  const seeds = [...GIVEN];
  while (seeds.length < Math.max(RUNS, GIVEN.length)) seeds.push(Math.floor(Math.random() * 2 ** 31));
  const runs: Array<Record<string, unknown>> = [];
  for (const seed of seeds) {
    console.log(`chaos:seeds: run ${runs.length + 1} of ${seeds.length}, seed ${seed}`);
    const out = path.join(PROJECT_ROOT, 'bench', 'results', 'chaos.json');
    fs.rmSync(out, { force: true });
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/chaos.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CHAOS_SEED: String(seed) },
      stdio: 'inherit',
    });
    const result = fs.existsSync(out)
      ? (JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>)
      : { seed, meetsTarget: false, exit: child.status };
    runs.push(result);
  }
  const summary = runs.map((r) => ({
    seed: r.seed,
    completed: r.completed,
    duplicatePRs: r.duplicatePRs,
    ledgerMismatches: r.ledgerMismatches,
    orphanContainers: r.orphanContainers,
    faults: r.faults,
    durationMs: r.durationMs,
    meetsTarget: r.meetsTarget,
  }));
  const allMet = runs.every((r) => r.meetsTarget === true);
  writeResult('chaos-seeds', { runs: summary, allMeetTarget: allMet });
  if (!allMet) process.exitCode = 1;
}

runMain(main);
