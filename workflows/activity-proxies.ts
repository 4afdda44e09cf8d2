/**
 * Activity options per class of work. Long-running work heartbeats (every activity does, see
 * activities/heartbeat.ts) so a kill or cancel reaches it within about a second.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export const NON_RETRYABLE = ['BugNotFound', 'NothingToDeliver', 'UnsafePush', 'ScopeViolation', 'PathOutsideWorkspaceError'];

const base = (o: ActivityOptions): ActivityOptions => ({ ...o, retry: { nonRetryableErrorTypes: NON_RETRYABLE, ...o.retry } });

// Attempts are bounded by time more than by count: a worker killed mid-activity costs an attempt
// (a heartbeat timeout), and a fix must outlive several worker restarts (`npm run chaos` failed
// 18 of 20 fixes with 3 attempts). Permanent errors are non-retryable and fail at once.
const SHORT = base({ startToCloseTimeout: '1 minute', scheduleToCloseTimeout: '15 minutes', retry: { maximumAttempts: 12 } });
// Every activity heartbeats every 250 ms, so 10 s of silence means its worker is gone: retry elsewhere.
const MODEL = base({
  // A full 16K-token answer takes 3-6 minutes; the SDK's own non-streaming limit is 10.
  startToCloseTimeout: '10 minutes',
  scheduleToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 12 },
});
// Time limits sit above the longest work an attempt may do (a dead worker is found by heartbeat,
// not by these): provisioning includes a project's install step (up to 15 min) and a checkpoint
// restore; validation runs up to four checks of up to 10 min each.
const PROVISION = base({
  startToCloseTimeout: '25 minutes',
  scheduleToCloseTimeout: '60 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 10 },
});
const HOST = base({
  // A host that stopped polling (lost machine) is treated like a lost container.
  scheduleToStartTimeout: '1 minute',
  startToCloseTimeout: '45 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// Removing a container left on a host the fix moved away from: best effort, so a dead host (no
// worker polls its queue) gives up within the minute and never holds up the fix. The host's
// startup sweep and its reaper remove what this could not.
const FORMER_HOST = base({ scheduleToCloseTimeout: '1 minute', startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });

/** Proxies carry a summary the Web UI shows next to each activity (which iteration, which tools). */
export const shortActivities = (summary?: string) => proxyActivities<Activities>({ ...SHORT, summary });
export const modelActivities = (summary?: string) => proxyActivities<Activities>({ ...MODEL, summary });
export const provisionActivities = (summary?: string) => proxyActivities<Activities>({ ...PROVISION, summary });
export const hostActivities = (taskQueue: string, summary?: string) => proxyActivities<Activities>({ ...HOST, taskQueue, summary });
export type HostActivities = ReturnType<typeof hostActivities>;
export const formerHostActivities = (taskQueue: string, summary?: string) => proxyActivities<Activities>({ ...FORMER_HOST, taskQueue, summary });
