/** Small helpers shared by the benches: quantiles and writing bench/results/<name>.json. */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';

// Benches run over local bare remotes (the 'file' transport), which the product default (https
// only) refuses; worker processes they start inherit this.
process.env.GIT_ALLOW_PROTOCOL ??= 'file:https';
// Alert and notification stand-ins listen on http://127.0.0.1, which the product refuses (SSRF guard).
process.env.NOTIFY_ALLOW_HTTP ??= 'true';
process.env.NOTIFY_ALLOW_NETWORKS ??= '127.0.0.1';

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

export const round2 = (x: number): number => Math.round(x * 100) / 100;

export function writeResult(name: string, result: Record<string, unknown>): void {
  const out = path.join(PROJECT_ROOT, 'bench', 'results', `${name}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  console.log(`wrote ${path.relative(PROJECT_ROOT, out)}`);
}

export { runMain } from '../dev/run-main.js';

/**
 * CPU time (ms) of every thread on the machine, summed by "process command/thread name" (Linux
 * /proc). The difference of two readings says where a window's CPU went; threads that exit within
 * it (a removed container's shim) are not counted.
 */
export function cpuByCommand(): Map<string, number> {
  const msPerTick = 1000 / 100; // USER_HZ is 100 on Linux
  const byCommand = new Map<string, number>();
  const statOf = (file: string) => {
    try {
      const stat = fs.readFileSync(file, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      return { name: stat.slice(stat.indexOf('(') + 1, close), ms: (Number(fields[11]) + Number(fields[12])) * msPerTick };
    } catch {
      return null; // exited meanwhile
    }
  };
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const proc = statOf(`/proc/${pid}/stat`);
    if (!proc) continue;
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const t = statOf(`/proc/${pid}/task/${tid}/stat`);
      if (!t) continue;
      const key = `${proc.name}/${t.name.replace(/[-:]\d+$/, '')}`;
      byCommand.set(key, (byCommand.get(key) ?? 0) + t.ms);
    }
  }
  return byCommand;
}

/** CPU spent between two readings of cpuByCommand: all of it, and the threads that used most, in ms. */
export function cpuSpent(before: Map<string, number>, after: Map<string, number>, n = 6): { totalMs: number; top: Record<string, number> } {
  const spent = [...after].map(([c, ms]) => [c, ms - (before.get(c) ?? 0)] as const).filter(([, ms]) => ms > 0);
  const top = spent
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([c, ms]) => [c, Math.round(ms)]);
  return { totalMs: Math.round(spent.reduce((sum, [, ms]) => sum + ms, 0)), top: Object.fromEntries(top) };
}
