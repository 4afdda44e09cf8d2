/** The pull request's title and body: everything a reviewer needs to judge the fix. */
import type { ValidationGateResult } from './fix.js';
import type { TokenUsage } from './pricing.js';
import { totalTokens } from './pricing.js';

export interface PullRequestFacts {
  bugTitle: string;
  bugDescription: string;
  summary: string;
  filesChanged: string[];
  validation: ValidationGateResult[];
  iterations: number;
  usage: TokenUsage;
  costUsd: number;
  workflowUrl: string;
  githubIssueNumber?: number | null;
}

export function pullRequestTitle(bugTitle: string): string {
  const clean = bugTitle.replace(/\s+/g, ' ').trim();
  return `Fix: ${clean.length > 100 ? `${clean.slice(0, 97)}...` : clean}`;
}

export function pullRequestBody(f: PullRequestFacts): string {
  const quote = (s: string) => s.split('\n').map((l) => `> ${l}`).join('\n');
  const gates = f.validation.length
    ? f.validation.map((v) => `| ${v.gate} | \`${v.command}\` | ${v.passed ? 'passed' : `failed (exit ${v.exitCode})`} |`).join('\n')
    : '| – | no validation commands configured | – |';
  return [
    '## Summary',
    f.summary,
    '',
    '## Bug report',
    `**${f.bugTitle}**`,
    '',
    quote(f.bugDescription.slice(0, 4000)),
    '',
    '## Files changed',
    ...(f.filesChanged.length ? f.filesChanged.map((p) => `- \`${p}\``) : ['- (see the diff)']),
    '',
    '## Validation',
    '| gate | command | result |',
    '|---|---|---|',
    gates,
    '',
    '## Agent run',
    `- Iterations: ${f.iterations}`,
    `- Tokens: ${totalTokens(f.usage)} (input ${f.usage.inputTokens}, output ${f.usage.outputTokens}, cache write ${f.usage.cacheCreationTokens}, cache read ${f.usage.cacheReadTokens})`,
    `- Cost: $${f.costUsd.toFixed(4)}`,
    `- Workflow: ${f.workflowUrl}`,
    ...(f.githubIssueNumber ? ['', `Fixes #${f.githubIssueNumber}`] : []),
    '',
    '_Opened by the autonomous bug-fixing service. Review before merging._',
  ].join('\n');
}
