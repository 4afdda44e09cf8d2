/**
 * How every fix ends, whatever stopped it: its sandbox removed, its outcome recorded, the
 * project's channels told. Runs outside cancellation, so a cancelled or killed fix still does all three.
 */
import { CancellationScope, patched, workflowInfo } from '@temporalio/workflow';
import type { FixInput, FixOutcome } from '../../src/domain/fix/fix.js';
import { eventOf } from '../../src/domain/fix/notification.js';
import { hostActivities, shortActivities } from '../activity-proxies.js';
import { rootCauseMessage } from './errors.js';
import { RECORD_WHILE_REMOVING } from './patches.js';
import type { FixRun, StopRequest } from './state.js';

const findChannels = (input: FixInput) => shortActivities('find notification channels').notificationChannels({ projectId: input.projectId });
type ChannelsFound = ReturnType<typeof findChannels>;

/** Tells the project's channels how the fix ended; a channel that fails cannot undo the fix. */
async function notify(fix: FixRun, input: FixInput, o: FixOutcome, bugTitle: string, channelsFound: ChannelsFound = findChannels(input)): Promise<void> {
  const notice = {
    event: eventOf(o),
    workflowId: workflowInfo().workflowId,
    bugId: input.bugId,
    projectId: input.projectId,
    projectKey: input.projectKey,
    bugTitle,
    status: o.status,
    reason: o.reason,
    prUrl: o.pr?.url,
    iterations: o.iterations,
    costUsd: o.costUsd,
    workflowUrl: input.workflowUrl,
  };
  try {
    const channels = await channelsFound;
    const results = await Promise.allSettled(channels.map((channel) => shortActivities(`notify ${channel}`).sendNotification({ channel, notice })));
    results.forEach((r, i) => r.status === 'rejected' && fix.lastActions.push(`${channels[i]} notification failed: ${rootCauseMessage(r.reason)}`));
  } catch (err) {
    fix.lastActions.push(`notifications failed: ${rootCauseMessage(err)}`);
  }
}

/**
 * Removes the sandbox, records the outcome (pr_created unless `failure`) and notifies.
 * `bugTitle` is the report's title, or the bug id when the report never loaded.
 */
export function closeFix(fix: FixRun, input: FixInput, failure: StopRequest | undefined, bugTitle: string, followUpRound = false): Promise<void> {
  const { workflowId } = workflowInfo();
  // Cleanup and the record must happen even when the fix was cancelled.
  return CancellationScope.nonCancellable(async () => {
    fix.enter('cleaning-up');
    const removal = (async () => {
      try {
        const sandbox = fix.sandbox;
        if (sandbox) await hostActivities(sandbox.hostQueue, 'remove the sandbox').removeSandbox({ containerId: sandbox.containerId, workflowId });
        // Cancelled while provisioning: the container may exist though its id never came back.
        else await shortActivities('remove the sandbox').removeSandboxesOf({ workflowId });
      } catch (err) {
        // A lost host cannot remove its container; the reaper will. The outcome must still be recorded.
        fix.lastActions.push(`sandbox cleanup failed: ${rootCauseMessage(err)}`);
      }
    })();
    const recordAndNotify = async (channelsFound?: ChannelsFound) => {
      const { pr, iteration: iterations, usage, validation, timings } = fix;
      const outcome: FixOutcome = {
        status: failure ? failure.status : 'pr_created',
        reason: failure?.reason,
        pr,
        iterations,
        usage,
        costUsd: fix.costUsd(),
        validation,
        timings: { ...timings },
        ...(fix.reproduction ? { reproduction: fix.reproduction } : {}),
      };
      fix.outcome = outcome;
      await shortActivities('record the outcome').recordOutcome({ bugId: input.bugId, outcome, ...(followUpRound ? { followUpRound } : {}) });
      await notify(fix, input, outcome, bugTitle, channelsFound);
    };
    // The outcome does not depend on the removal, nor the channels on the record: one round
    // trip for all three (a kill switch over 50 fixes waited ~0.7 s per extra workflow task).
    if (patched(RECORD_WHILE_REMOVING)) {
      const channelsFound = findChannels(input);
      channelsFound.catch(() => undefined); // read by notify, which reports a failure
      await Promise.all([removal, recordAndNotify(channelsFound)]);
    } else {
      await removal;
      await recordAndNotify();
    }
    fix.enter(failure ? (failure.status === 'cancelled' ? 'cancelled' : 'failed') : 'done');
  });
}
