/**
 * The one status comment a fix keeps on its GitHub issue, rendered from the fix's status query.
 * A hidden marker names the fix, so a create retried after a lost answer finds the comment it
 * made instead of posting a second one.
 */
import type { FixOutcomeStatus, FixStatus } from '../fix/fix.js';

export const statusMarker = (bugId: string) => `<!-- bugfix-status:${bugId} -->`;

const PHASE_TEXT: Record<FixStatus['phase'], string> = {
  queued: 'queued',
  provisioning: 'preparing a sandbox',
  reproducing: "running the project's checks before any change",
  fixing: 'working on a fix',
  validating: "running the project's checks on the fix",
  delivering: 'opening a pull request',
  'cleaning-up': 'cleaning up',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

const OUTCOME_TEXT: Record<FixOutcomeStatus, string> = { pr_created: 'done: pull request opened', failed: 'failed', cancelled: 'cancelled' };

/** What changes the comment: edits happen only when one of these does (not on every poll). */
export function statusDigest(s: FixStatus | undefined): string {
  if (!s) return 'queued';
  return JSON.stringify([s.phase, s.iteration, s.costUsd.toFixed(2), s.pr?.url, s.outcome?.status, s.outcome?.reason, s.paused]);
}

export interface StatusCommentInput {
  bugId: string;
  status?: FixStatus;
  /** where ops follow the fix (Temporal Web UI) */
  workflowUrl?: string;
}

export function statusCommentBody({ bugId, status, workflowUrl }: StatusCommentInput): string {
  const lines = [statusMarker(bugId), '**Bugfix bot**'];
  if (!status) lines.push('', 'Status: queued — a fix will start shortly.');
  else {
    const outcome = status.outcome;
    const state = outcome ? OUTCOME_TEXT[outcome.status] : PHASE_TEXT[status.phase];
    lines.push('', `Status: ${state}${status.paused ? ' (paused by an operator)' : ''}`);
    lines.push(`Iterations: ${status.iteration} · cost so far: $${status.costUsd.toFixed(2)}`);
    const pr = status.pr ?? outcome?.pr;
    if (pr) lines.push(`Pull request: ${pr.url}`);
    if (outcome && outcome.status !== 'pr_created' && outcome.reason) lines.push(`Why it stopped: ${oneLine(outcome.reason)}`);
    const denied = status.environment?.egressDenied ?? [];
    if (denied.length)
      lines.push(
        `Refused network access during setup: ${denied
          .slice(0, 10)
          .map((h) => `\`${h}\``)
          .join(', ')}`,
      );
  }
  if (workflowUrl) lines.push('', `<sub>Fix ${bugId} · [workflow](${workflowUrl})</sub>`);
  return lines.join('\n');
}

/** Reasons come from our own code, but keep them from breaking the comment's layout. */
const oneLine = (s: string) => s.replace(/\s+/g, ' ').slice(0, 300);

export function declinedReply(login: string, permission: string, needed: string): string {
  return [
    `@${login} thanks for asking — only people with ${needed} access to this repository can start a fix, and yours is ${permission}.`,
    'A maintainer can label the issue or comment the command instead.',
  ].join(' ');
}

/** Marks where the follow-up rounds start in the status comment: everything after it is rewritten per round. */
export const ROUNDS_MARKER = '<!-- bugfix-rounds -->';

export interface RoundLine {
  round: number;
  status: string;
  reason?: string | null;
  commitSha?: string | null;
  threads: number;
}

/** The status comment with its follow-up rounds section (re)written: what the fix showed stays as it was. */
export function withRounds(body: string, rounds: readonly RoundLine[]): string {
  const before = body.split(ROUNDS_MARKER)[0]!.trimEnd();
  if (rounds.length === 0) return before;
  const lines = rounds.map((r) => {
    const what = r.status === 'pushed' ? `pushed ${r.commitSha?.slice(0, 12) ?? ''}` : `${r.status}${r.reason ? `: ${oneLine(r.reason)}` : ''}`;
    return `- Round ${r.round} (${r.threads} review thread${r.threads === 1 ? '' : 's'}): ${what}`;
  });
  return [before, '', ROUNDS_MARKER, '**Follow-up rounds on the pull request**', ...lines].join('\n');
}

/** The bot's answer in a review thread it worked on: what it did (or why nothing was pushed). */
export function threadReply(r: { status: string; reason?: string | null; commitSha?: string | null; summary?: string | null; round: number }): string {
  if (r.status === 'pushed' && r.commitSha) {
    return `Addressed in ${r.commitSha} (round ${r.round}).${r.summary ? `\n\n${r.summary}` : ''}`;
  }
  return `Round ${r.round} pushed nothing: ${oneLine(r.reason ?? r.status)}`;
}
