/**
 * Totals of an eval run against the original design's targets (fix rate > 50%, time to PR
 * < 20 min, cost per fix < $8, tokens per fix < 100K), and the readable table. "Per fix" divides
 * everything spent, failed attempts included, by the number of fixes: failures are paid for too.
 */
import type { CaseResult } from './case-run.js';
import { quantile, round2 } from '../support.js';

export const TARGETS = { fixRate: 0.5, timeToPrSec: 20 * 60, costPerFixUsd: 8, tokensPerFix: 100_000 } as const;

export interface EvalTotals {
  model: string;
  caseCount: number;
  fixed: number;
  fixRate: number;
  prsOpened: number;
  timeToPrP50Sec: number | null;
  timeToPrMaxSec: number | null;
  costTotalUsd: number;
  costPerFixUsd: number | null;
  tokensTotal: number;
  tokensPerFix: number | null;
  iterationsMean: number;
  /** cases whose fix came with a reproduction test the service verified (fails on base, passes with the fix) */
  reproductionsVerified: number;
  targetFixRate: number;
  targetTimeToPrSec: number;
  targetCostPerFixUsd: number;
  targetTokensPerFix: number;
  meetsFixRate: boolean;
  meetsTimeToPr: boolean;
  meetsCostPerFix: boolean;
  meetsTokensPerFix: boolean;
  /** cases whose acceptance test passed on the base branch too: they measure nothing */
  brokenCases: string[];
  durationSec: number;
}

export function summarize(results: CaseResult[], model: string, durationSec: number): EvalTotals {
  const fixed = results.filter((r) => r.fixed).length;
  const times = results.flatMap((r) => (r.timeToPrSec === null ? [] : [r.timeToPrSec]));
  const cost = results.reduce((s, r) => s + r.costUsd, 0);
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  const p50 = times.length ? quantile(times, 0.5) : null;
  const costPerFix = fixed ? cost / fixed : null;
  const tokensPerFix = fixed ? Math.round(tokens / fixed) : null;
  return {
    model,
    caseCount: results.length,
    fixed,
    fixRate: results.length ? round2(fixed / results.length) : 0,
    prsOpened: times.length,
    timeToPrP50Sec: p50,
    timeToPrMaxSec: times.length ? Math.max(...times) : null,
    costTotalUsd: Number(cost.toFixed(4)),
    costPerFixUsd: costPerFix === null ? null : Number(costPerFix.toFixed(4)),
    tokensTotal: tokens,
    tokensPerFix,
    iterationsMean: results.length ? round2(results.reduce((s, r) => s + r.iterations, 0) / results.length) : 0,
    reproductionsVerified: results.filter((r) => r.reproduction === 'verified').length,
    targetFixRate: TARGETS.fixRate,
    targetTimeToPrSec: TARGETS.timeToPrSec,
    targetCostPerFixUsd: TARGETS.costPerFixUsd,
    targetTokensPerFix: TARGETS.tokensPerFix,
    meetsFixRate: results.length > 0 && fixed / results.length > TARGETS.fixRate,
    meetsTimeToPr: p50 !== null && p50 < TARGETS.timeToPrSec,
    meetsCostPerFix: costPerFix !== null && costPerFix < TARGETS.costPerFixUsd,
    meetsTokensPerFix: tokensPerFix !== null && tokensPerFix < TARGETS.tokensPerFix,
    brokenCases: results.filter((r) => r.acceptanceFailsOnBase === false).map((r) => r.name),
    durationSec: Number(durationSec.toFixed(1)),
  };
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * A line naming one failing test, in the output of each ecosystem's runner: TAP (`not ok`), go
 * test (`--- FAIL:`), pytest -q's summary (`FAILED path::test`), surefire's summary
 * (`[ERROR]   Class.method:line`), vitest's (` FAIL  file > test`).
 */
export const FAILING_TEST_LINE = /^(not ok\b|\s*--- FAIL: |FAILED \S+::|\[ERROR\] {3}\w[\w.$]*\.\w+:\d+ | FAIL {2}\S)/;

const usd = (x: number | null) => (x === null ? '–' : `$${x.toFixed(4)}`);
const sec = (x: number | null) => (x === null ? '–' : `${x.toFixed(1)} s`);
const yes = (b: boolean) => (b ? 'yes' : 'NO');

export function renderReport(results: CaseResult[], t: EvalTotals): string {
  const cases = table(
    ['case', 'ecosystem', 'kind', 'fixed', 'reproduction', 'status', 'iterations', 'tokens', 'cost', 'time to PR', 'files'],
    results.map((r) => [
      r.name,
      r.ecosystem,
      r.kind,
      r.fixed ? 'yes' : 'no',
      r.reproduction,
      r.status,
      String(r.iterations),
      String(r.tokens),
      usd(r.costUsd),
      sec(r.timeToPrSec),
      String(r.filesChanged.length),
    ]),
    new Set([6, 7, 8, 9, 10]),
  );
  const targets = table(
    ['metric', 'measured', 'target', 'met'],
    [
      ['fix rate', `${Math.round(t.fixRate * 100)}% (${t.fixed}/${t.caseCount})`, `> ${TARGETS.fixRate * 100}%`, yes(t.meetsFixRate)],
      ['time to PR (p50; max)', `${sec(t.timeToPrP50Sec)}; ${sec(t.timeToPrMaxSec)}`, `< ${TARGETS.timeToPrSec / 60} min`, yes(t.meetsTimeToPr)],
      ['cost per fix', usd(t.costPerFixUsd), `< $${TARGETS.costPerFixUsd}`, yes(t.meetsCostPerFix)],
      ['tokens per fix', t.tokensPerFix === null ? '–' : String(t.tokensPerFix), `< ${TARGETS.tokensPerFix / 1000}K`, yes(t.meetsTokensPerFix)],
      ['verified reproduction tests', `${t.reproductionsVerified}/${t.caseCount}`, '–', '–'],
    ],
    new Set(),
  );
  // Only the failing tests' lines here; eval.json keeps the tail of the acceptance output.
  const failing = (out = '') =>
    out
      .split('\n')
      .filter((l) => FAILING_TEST_LINE.test(l))
      .map((l) => `\n    ${l}`)
      .join('');
  const notes = results
    .filter((r) => !r.fixed)
    .map((r) => `  ${r.name}: ${r.reason ?? 'PR opened but the acceptance test fails'}${failing(r.acceptanceOutput)}`);
  const broken = t.brokenCases.length ? [`BROKEN CASES (acceptance passes on the base branch): ${t.brokenCases.join(', ')}`] : [];
  return [`Model: ${t.model}`, '', cases, '', targets, ...(notes.length ? ['', 'Not fixed:', ...notes] : []), ...broken].join('\n');
}
