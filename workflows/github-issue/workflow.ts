/**
 * One workflow per GitHub issue the service is asked about (id from githubIssueWorkflowId): every
 * trigger delivery is a signal (signal-with-start), so redeliveries and a label plus a comment at
 * once meet in one place. A trigger from someone without the project's required permission gets a
 * polite reply and nothing runs; the first permitted one files the issue (its fix starts) and the
 * workflow keeps the issue's status comment current until the fix ends. Triggers that arrive
 * while the fix runs are acknowledged in its status comment, not started again.
 */
import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { issueStateQuery, issueTriggerSignal, type GitHubIssueInput, type GitHubIssueState } from './messages.js';
import type { IssueTrigger } from '../../src/domain/github/triggers.js';
import { declinedReply } from '../../src/domain/github/status-comment.js';
import { githubQueueOf } from '../../src/domain/github/task-queue.js';

const actsOptions = {
  startToCloseTimeout: '1 minute',
  // GitHub outages heal: keep trying for a while, then give up on this trigger.
  scheduleToCloseTimeout: '30 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
} as const;
/** Filing the fix (PostgreSQL and Temporal) stays on the workflow's own queue. */
const acts = proxyActivities<Activities>(actsOptions);

/** GitHub calls go to the GitHub queue: its throttled writes and watchers never hold the fixes' slots. */
function githubActivities() {
  const taskQueue = githubQueueOf(workflowInfo().taskQueue);
  return {
    gh: proxyActivities<Activities>({ ...actsOptions, taskQueue }),
    watcher: proxyActivities<Activities>({
      taskQueue,
      // As long as the longest fix may run (its own wall-clock budget ends it before that).
      startToCloseTimeout: '8 hours',
      heartbeatTimeout: '30 seconds',
      retry: { initialInterval: '5 seconds', maximumInterval: '1 minute' },
    }),
  };
}

/** With nothing asked for this long and no fix, the workflow ends (a new trigger starts a new one). */
const IDLE = '1 hour';

export async function githubIssueWorkflow(input: GitHubIssueInput): Promise<GitHubIssueState> {
  const queue: IssueTrigger[] = [];
  const seen = new Set<string>();
  const state: GitHubIssueState = { declined: [], handledDeliveries: 0 };
  const { gh, watcher } = githubActivities();
  setHandler(issueTriggerSignal, (t) => {
    // A redelivered webhook (same delivery id) is handled once.
    if (seen.has(t.deliveryId)) return;
    seen.add(t.deliveryId);
    queue.push(t);
  });
  setHandler(issueStateQuery, () => state);

  while (!state.fix) {
    if (!(await condition(() => queue.length > 0, IDLE))) return state;
    const t = queue.shift()!;
    state.handledDeliveries += 1;
    const access = await gh.githubPermission({ projectId: input.projectId, login: t.requestedBy });
    if (!access.allowed) {
      state.declined.push(t.requestedBy);
      await gh.replyOnIssue({
        projectId: input.projectId,
        issueNumber: input.issueNumber,
        marker: `<!-- bugfix-reply:${t.deliveryId} -->`,
        body: declinedReply(t.requestedBy, access.permission, access.needed),
        declined: t.requestedBy,
      });
      continue;
    }
    const filed = await acts.fileIssueFix({ projectId: input.projectId, trigger: t });
    state.fix = { bugId: filed.bugId, workflowId: filed.workflowId };
    state.outcome = await watcher.keepIssueStatus({
      projectId: input.projectId,
      issueNumber: input.issueNumber,
      bugId: filed.bugId,
      workflowId: filed.workflowId,
      workflowUrl: filed.workflowUrl,
    });
  }
  state.handledDeliveries += queue.length;
  return state;
}
