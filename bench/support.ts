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
