/** The pull request's title and body: everything a reviewer needs to judge the fix. */
import type { ValidationGateResult } from './fix.js';
import type { TokenUsage } from './pricing.js';
import { totalTokens } from './pricing.js';
import { reproductionSection, type ReproductionEvidence } from './reproduction.js';

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
  /** the prepared environment the fix ran in, when the project has one */
  environment?: { key: string; egressDenied: string[] };
  /** the service's check of the fix's reproduction test, when it ran */
  reproduction?: ReproductionEvidence;
}

/** An issue reference GitHub links: #12, owner/repo#12, or an issue or PR URL. */
const ISSUE_REF = String.raw`(?:[\w.-]+\/[\w.-]+)?#\d+|https?:\/\/\S+\/(?:issues|pull)\/\d+`;
/** close/closes/closed, fix/fixes/fixed, resolve/resolves/resolved before a reference (a colon allowed). */
const CLOSING_KEYWORD = new RegExp(String.raw`\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?:\s*:\s*|\s+)(?=${ISSUE_REF})`, 'gi');

const STARTS_WITH_REF = new RegExp(`^(?:${ISSUE_REF})`);

/** `[skip ci]`, `[ci skip]`, `[no ci]`, `[skip actions]`, `[skip travis]` …: CI skip directives in brackets. */
const CI_SKIP_BRACKET = /\[(?=\s*(?:skip|ci|no|actions)\b[^\]\n]{0,40}\])/gi;

/**
 * Text written by a reporter or the agent is not ours to act with on GitHub: a closing keyword
 * would close an issue when the PR merges, so it is removed (the reference stays, as a plain
 * link); an @mention would notify a user or team, so a zero-width joiner goes after the '@'
 * (GitHub mentions need a letter or digit there; the text reads the same); a CI directive
 * (`[skip ci]`, `skip-checks: true`, `***NO_CI***`) would skip the checks that guard the PR, so a
 * zero-width joiner breaks it too.
 */
export function sanitizeForGitHub(s: string): string {
  return s
    .replace(CLOSING_KEYWORD, '')
    .replace(/(?<!\w)@(?=[A-Za-z0-9])/g, '@\u200D')
    .replace(CI_SKIP_BRACKET, '[\u200D')
    .replace(/\bskip-checks(?=\s*:)/gi, 'skip\u200D-checks')
    .replace(/\*\*\*NO_CI\*\*\*/gi, '***NO\u200D_CI***');
}

/**
 * Free markdown from the agent (its summary): sanitised, and its HTML made visible text, so a
 * `<!-- comment -->` or `<details>` cannot hide what a reviewer should read. Capped in length.
 */
function visibleMarkdown(s: string, max: number): string {
  const clipped = s.length > max ? `${s.slice(0, max)}… (cut)` : s;
  return sanitizeForGitHub(clipped).replace(/<(?=[A-Za-z!/?])/g, '&lt;');
}

/** A code span longer than any backtick run inside, on one line: the text cannot leave it. */
function codeSpan(s: string): string {
  const flat = s
    .replace(/[\u0000-\u001f\u007f\s]+/g, ' ')
    .trim()
    .slice(0, 300);
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const tick = '`'.repeat(longest + 1);
  return longest ? `${tick} ${flat} ${tick}` : `${tick}${flat}${tick}`;
}

/** The agent's list of files, as it claims them: each in a code span, at most fifty. */
function fileLines(files: string[]): string[] {
  if (!files.length) return ['- (see the diff)'];
  const shown = files.slice(0, 50).map((p) => `- ${codeSpan(sanitizeForGitHub(p))}`);
  return files.length > 50 ? [...shown, `- … and ${files.length - 50} more (see the diff)`] : shown;
}

/** One line: newlines in a commit message's subject would start its body. */
const oneLine = (s: string) => sanitizeForGitHub(s.replace(/\s+/g, ' ').trim());

/** The PR title and the commit message. */
export function pullRequestTitle(bugTitle: string): string {
  const clean = oneLine(bugTitle);
  const clipped = clean.length > 100 ? `${clean.slice(0, 97)}...` : clean;
  // "Fix: #12 …" could itself read as a closing keyword: a title starting with a reference is quoted.
  return STARTS_WITH_REF.test(clipped) ? `Fix: "${clipped}"` : `Fix: ${clipped}`;
}

/** A fenced block longer than any backtick run inside, so the text cannot close it early. */
function fenced(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${s}\n${fence}`;
}

/** Hosts the setup asked for and was refused: a reviewer learns why a dependency may be missing. */
function environmentLines(env: { key: string; egressDenied: string[] }): string[] {
  return [
    `- Environment: prepared image \`${env.key}\``,
    ...(env.egressDenied.length ? [`- Setup egress refused (not on the allowlist): ${env.egressDenied.map((h) => `\`${h}\``).join(', ')}`] : []),
  ];
}

export function pullRequestBody(f: PullRequestFacts): string {
  const gates = f.validation.length
    ? f.validation.map((v) => `| ${v.gate} | \`${v.command}\` | ${v.passed ? 'passed' : `failed (exit ${v.exitCode})`} |`).join('\n')
    : '| – | no validation commands configured | – |';
  return [
    '## Summary',
    visibleMarkdown(f.summary, 4000),
    '',
    '## Bug report',
    `**${oneLine(f.bugTitle)}**`,
    '',
    fenced(sanitizeForGitHub(f.bugDescription.slice(0, 4000))),
    '',
    '## Files changed',
    ...fileLines(f.filesChanged),
    '',
    '## Validation',
    '| gate | command | result |',
    '|---|---|---|',
    gates,
    '',
    ...(f.reproduction ? reproductionSection(f.reproduction) : []),
    '## Agent run',
    `- Iterations: ${f.iterations}`,
    `- Tokens: ${totalTokens(f.usage)} (input ${f.usage.inputTokens}, output ${f.usage.outputTokens}, cache write ${f.usage.cacheCreationTokens}, cache read ${f.usage.cacheReadTokens})`,
    `- Cost: $${f.costUsd.toFixed(4)}`,
    `- Workflow: ${f.workflowUrl}`,
    ...(f.environment ? environmentLines(f.environment) : []),
    ...(f.githubIssueNumber ? ['', `Fixes #${f.githubIssueNumber}`] : []),
    '',
    '_Opened by the autonomous bug-fixing service. Review before merging._',
  ].join('\n');
}
