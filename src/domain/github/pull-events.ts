/**
 * Which webhook deliveries concern a pull request's follow-up rounds, decided from the payload
 * alone (pure): a review with changes requested or comments, an inline review comment, a PR
 * comment with the command or an @mention of the bot, and the PR being closed. Whether the
 * service opened that PR is looked up afterwards (src/github/webhook-intake.ts); who may ask is
 * checked through the API by the PR's workflow, never taken from the payload.
 */
import { isBotSender, mentions, startsWithCommand, type GitHubTriggerSettings } from './triggers.js';

export type PullEventKind = 'review' | 'review_comment' | 'comment' | 'closed' | 'check';

/**
 * A failed check on a PR's head: a check run (its output, or its Actions job's log), a whole
 * Actions workflow run, or a check suite (an app's check runs on a commit: read as its failed runs).
 */
export interface FailedCheck {
  source: 'check_run' | 'workflow_run' | 'check_suite';
  id: number;
  name: string;
  headSha: string;
  conclusion: string;
}

/** What the PR workflow is signalled with. */
export interface PullEvent {
  kind: PullEventKind;
  deliveryId: string;
  repoFullName: string;
  prNumber: number;
  /** the PR's head branch as the payload names it (the service's are `fix/bug-<id>`) */
  headRef: string | null;
  requestedBy: string;
  /** a PR comment's text (reviews and inline comments are read through the API with their threads) */
  comment?: string;
  merged?: boolean;
  check?: FailedCheck;
}

export type PullDecision = { event: Omit<PullEvent, 'deliveryId'> } | { ignored: string } | { notPull: true };

interface CheckPayload {
  id?: number;
  name?: string;
  head_sha?: string;
  head_branch?: string | null;
  conclusion?: string | null;
  check_suite?: { head_branch?: string | null };
  pull_requests?: Array<{ number?: number }>;
  app?: { name?: string } | null;
}

interface Payload {
  check_run?: CheckPayload;
  workflow_run?: CheckPayload;
  check_suite?: CheckPayload;
  action?: string;
  sender?: { login?: string; type?: string };
  repository?: { full_name?: string };
  pull_request?: { number?: number; head?: { ref?: string }; merged?: boolean | null };
  review?: { state?: string };
  issue?: { number?: number; pull_request?: unknown };
  comment?: { body?: string };
}

const PULL_EVENTS = new Set(['pull_request', 'pull_request_review', 'pull_request_review_comment']);
const CHECK_EVENTS = new Set(['check_run', 'workflow_run', 'check_suite']);
/** Conclusions that mean the fix's code broke something (not cancelled, skipped or neutral). */
const FAILED = new Set(['failure', 'timed_out']);

/**
 * A failed check run or workflow run on a branch. Checks are reported by apps (sender type Bot),
 * so the bot rule does not apply; prNumber is 0 when the payload lists no PR (runs from forks):
 * the intake finds the PR by its branch.
 */
function decideCheck(event: string, p: Payload): PullDecision {
  const what = `${event}${p.action ? `.${p.action}` : ''}`;
  const run = event === 'check_run' ? p.check_run : event === 'check_suite' ? p.check_suite : p.workflow_run;
  const repoFullName = p.repository?.full_name;
  if (p.action !== 'completed' || !run || !repoFullName || typeof run.id !== 'number' || !run.head_sha) return { ignored: `unsupported event ${what}` };
  const conclusion = run.conclusion ?? 'none';
  // A suite has no name of its own: the app that reports it names it.
  const name = run.name ?? run.app?.name ?? String(run.id);
  if (!FAILED.has(conclusion)) return { ignored: `${event} ${name} concluded ${conclusion}: nothing to fix` };
  const headRef = (event === 'check_run' ? run.check_suite?.head_branch : run.head_branch) ?? null;
  return {
    event: {
      kind: 'check',
      repoFullName,
      prNumber: run.pull_requests?.[0]?.number ?? 0,
      headRef,
      requestedBy: p.sender?.login ?? 'unknown',
      check: { source: event as FailedCheck['source'], id: run.id, name: name.slice(0, 200), headSha: run.head_sha, conclusion },
    },
  };
}

/** `notPull`: the delivery is about an issue (or nothing a PR cares about): the issue triggers decide. */
export function decidePullEvent(event: string, payload: unknown, settings: GitHubTriggerSettings, botLogin: string): PullDecision {
  const p = (payload ?? {}) as Payload;
  if (CHECK_EVENTS.has(event)) return decideCheck(event, p);
  const onPrComment = event === 'issue_comment' && !!p.issue?.pull_request;
  if (!PULL_EVENTS.has(event) && !onPrComment) return { notPull: true };
  const what = `${event}${p.action ? `.${p.action}` : ''}`;
  // The bot's own replies and pushes (and other apps') never start a round: no loops.
  if (isBotSender(p.sender, botLogin)) return { ignored: `${what} by a bot (${p.sender?.login ?? 'unknown'})` };
  const repoFullName = p.repository?.full_name;
  const prNumber = onPrComment ? p.issue?.number : p.pull_request?.number;
  if (!repoFullName || typeof prNumber !== 'number') return { ignored: `unsupported event ${what}` };
  const base = { repoFullName, prNumber, headRef: p.pull_request?.head?.ref ?? null, requestedBy: p.sender?.login ?? 'unknown' };

  if (event === 'pull_request') {
    if (p.action === 'closed') return { event: { ...base, kind: 'closed', merged: !!p.pull_request?.merged } };
    return { ignored: `unsupported event ${what}` };
  }
  if (event === 'pull_request_review') {
    if (p.action !== 'submitted') return { ignored: `unsupported event ${what}` };
    const state = (p.review?.state ?? '').toLowerCase();
    if (state !== 'changes_requested' && state !== 'commented') return { ignored: `review ${state || 'without a state'} asks for no change` };
    return { event: { ...base, kind: 'review' } };
  }
  if (event === 'pull_request_review_comment') {
    if (p.action !== 'created') return { ignored: `unsupported event ${what}` };
    return { event: { ...base, kind: 'review_comment' } };
  }
  // issue_comment on a pull request: only the command or a mention asks for a round.
  if (p.action !== 'created') return { ignored: `unsupported event ${what}` };
  const body = p.comment?.body ?? '';
  const asked = (settings.command && startsWithCommand(body, settings.command)) || (settings.mention && mentions(body, botLogin));
  if (!asked) return { ignored: 'comment on a pull request neither starts with the command nor mentions the bot' };
  return { event: { ...base, kind: 'comment', comment: body } };
}

/** The service's own fix branches: a PR from any other branch was not opened by it. */
export const isServiceBranch = (ref: string | null | undefined): boolean => !!ref && /^fix\/bug-[0-9a-f-]+$/i.test(ref);
