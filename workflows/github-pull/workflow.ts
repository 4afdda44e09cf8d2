/**
 * One workflow per pull request the service opened (id from githubPullWorkflowId): every review,
 * inline comment, PR comment asking the bot and the PR's closing is a signal (signal-with-start),
 * so redeliveries meet here and are handled once. After a short quiet time (a review's inline
 * comments arrive one by one) the events make ONE follow-up round: a child fix workflow
 * (`<fix id>-round-<n>`, so pause/kill/cancel, the status query and the Web UI cover it) that
 * starts from the PR branch's head and adds a commit to it; then the bot replies in each thread
 * it answered. Once the PR is closed or merged no further round starts.
 */
import { ChildWorkflowFailure, condition, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { githubQueueOf } from '../../src/domain/github/task-queue.js';
import type { Activities } from '../../activities/index.js';
import type { PullEvent } from '../../src/domain/github/pull-events.js';
import { declinedReply } from '../../src/domain/github/status-comment.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { bugFixWorkflow } from '../bug-fix/workflow.js';
import { pullEventSignal, pullStateQuery, type GitHubPullInput, type GitHubPullState } from './messages.js';

/** Every activity here talks to GitHub: they run on the GitHub queue, next to the workflow's own. */
const githubActivities = () =>
  proxyActivities<Activities>({
    taskQueue: githubQueueOf(workflowInfo().taskQueue),
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: '30 minutes',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
  });

/** With nothing asked for this long, the workflow ends (the next event starts a new one). */
const IDLE = '1 day';

export async function githubPullWorkflow(input: GitHubPullInput): Promise<GitHubPullState> {
  const queue: PullEvent[] = [];
  const seen = new Set<string>();
  let received = 0;
  const state: GitHubPullState = { rounds: [], declined: [], handledDeliveries: 0, closed: false, notes: [] };
  const acts = githubActivities();
  setHandler(pullEventSignal, (e) => {
    // A redelivered webhook (same delivery id) is handled once.
    if (seen.has(e.deliveryId)) return;
    seen.add(e.deliveryId);
    received += 1;
    if (e.kind === 'closed') state.closed = true;
    else queue.push(e);
  });
  setHandler(pullStateQuery, () => state);

  while (!state.closed) {
    if (!(await condition(() => queue.length > 0 || state.closed, IDLE))) break;
    // Quiet time: every further event restarts it, so one review makes one round.
    for (let at = -1; at !== received && !state.closed;) {
      at = received;
      await condition(() => received !== at || state.closed, input.debounceMs);
    }
    if (state.closed) break;
    const batch = queue.splice(0);
    state.handledDeliveries += batch.length;

    const permitted: PullEvent[] = [];
    for (const e of batch) {
      // A failed check is reported by CI on the service's own commit: no person to ask.
      if (e.kind === 'check') {
        permitted.push(e);
        continue;
      }
      const access = await acts.githubPermission({ projectId: input.projectId, login: e.requestedBy });
      if (access.allowed) permitted.push(e);
      else if (!state.declined.includes(e.requestedBy)) {
        state.declined.push(e.requestedBy);
        await acts.replyOnIssue({
          projectId: input.projectId,
          issueNumber: input.prNumber,
          marker: `<!-- bugfix-reply:${e.deliveryId} -->`,
          body: declinedReply(e.requestedBy, access.permission, access.needed),
          declined: e.requestedBy,
        });
      }
    }
    if (permitted.length === 0) continue;

    const prComments = permitted.filter((e) => e.kind === 'comment').map((e) => ({ author: e.requestedBy, body: e.comment ?? '' }));
    const checks = permitted.flatMap((e) => (e.check ? [e.check] : []));
    const prepared = await acts.preparePullRound({ pull: input, prComments, checks });
    if ('skip' in prepared) {
      state.notes.push(prepared.skip);
      if (prepared.closed) state.closed = true;
      continue;
    }
    state.current = prepared.workflowId;
    let outcome: Pick<FixOutcome, 'status' | 'reason'>;
    try {
      outcome = await executeChild(bugFixWorkflow, {
        workflowId: prepared.workflowId,
        args: [
          {
            bugId: input.bugId,
            projectId: input.projectId,
            projectKey: input.projectKey,
            followUp: {
              branch: input.branch,
              headSha: prepared.headSha,
              prNumber: input.prNumber,
              round: prepared.round,
              ...(prepared.cloneUrl ? { cloneUrl: prepared.cloneUrl } : {}),
            },
            // The PR's budget over all its rounds: this round may spend only what is left of it.
            ...(prepared.maxCostUsd !== undefined ? { budgets: { maxCostUsd: prepared.maxCostUsd } } : {}),
          },
        ],
        staticSummary: `Round ${prepared.round} on ${input.repoFullName} pull request #${input.prNumber}`.slice(0, 200),
      });
    } catch (err) {
      // Terminated or cancelled through Temporal: the round ends without a push; its threads are told.
      if (!(err instanceof ChildWorkflowFailure)) throw err;
      outcome = { status: 'cancelled', reason: err.cause?.message ?? err.message };
    }
    const finished = await acts.finishPullRound({ pull: input, roundId: prepared.workflowId, status: outcome.status, reason: outcome.reason });
    state.rounds.push({
      round: prepared.round,
      workflowId: prepared.workflowId,
      status: finished.status,
      reason: outcome.reason,
      commitSha: finished.commitSha,
      threads: finished.replies,
    });
    state.current = undefined;
  }
  if (state.closed) state.notes.push('pull request closed: no further rounds');
  state.handledDeliveries += queue.length;
  return state;
}
