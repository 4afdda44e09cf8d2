/** Human-readable renderings for the CLI (every command also has --json). */
import type { FixStatus } from '../domain/fix/fix.js';
import { totalTokens } from '../domain/fix/pricing.js';
import type { FixSummary } from '../fixes/fix-queries.js';
import type { RetryingActivity } from '../fixes/retrying-activities.js';

const usd = (n: number) => `$${n.toFixed(4)}`;

/** Share of the most-consumed budget (iterations, tokens, cost), 0..1. */
export function budgetShare(s: FixStatus): number {
  const shares = [s.iteration / s.budgets.maxIterations, totalTokens(s.usage) / s.budgets.maxTokens, s.costUsd / s.budgets.maxCostUsd];
  return Math.max(0, Math.min(1, Math.max(...shares)));
}

export function progressLine(s: FixStatus): string {
  const share = budgetShare(s);
  const width = 20;
  const filled = Math.round(share * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(share * 100)}% of budget`;
  const last = s.lastActions[s.lastActions.length - 1];
  return [
    `phase=${s.phase}${s.phaseDetail ? ` (${s.phaseDetail})` : ''}${s.paused ? ' (paused)' : ''}`,
    `iteration=${s.iteration}/${s.budgets.maxIterations}`,
    `tokens=${totalTokens(s.usage)}`,
    `cost=${usd(s.costUsd)}/${usd(s.budgets.maxCostUsd)}`,
    bar,
    ...(last ? [`last: ${last.slice(0, 60)}`] : []),
  ].join(' ');
}

export function statusText(fix: FixSummary, s: FixStatus | null, pr: { url: string } | null, retrying: RetryingActivity[] = []): string {
  const lines = [
    `fix       ${fix.workflowId}`,
    `bug       ${fix.bugId ?? '-'}  project ${fix.projectKey ?? '-'}`,
    `workflow  ${fix.status}  started ${fix.startTime}${fix.closeTime ? `  closed ${fix.closeTime}` : ''}`,
  ];
  if (s) {
    lines.push(`progress  ${progressLine(s)}`);
    lines.push(`budgets   iterations ${s.budgets.maxIterations}, tokens ${s.budgets.maxTokens}, cost ${usd(s.budgets.maxCostUsd)}`);
    if (s.outcome) lines.push(`outcome   ${s.outcome.status}${s.outcome.reason ? `: ${s.outcome.reason}` : ''}`);
  } else {
    lines.push(
      `progress  phase=${fix.phase ?? '-'} iteration=${fix.iteration ?? '-'} cost=${fix.costUsd === null ? '-' : usd(fix.costUsd)} (no worker answered the status query)`,
    );
  }
  for (const r of retrying) lines.push(`retrying  ${r.activity} (attempt ${r.attempt}), last error: ${r.lastError.split('\n')[0]!.slice(0, 300)}`);
  if (pr) lines.push(`pr        ${pr.url}`);
  return lines.join('\n');
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
