/**
 * Triage of a free-text report (email, chat, form): the triage model decides whether it is a bug
 * report and extracts it; a bug is filed (which starts its fix), anything else is recorded and
 * not fixed. One workflow per message: a redelivered email finds the existing run.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { TriageInput, TriageResult } from '../src/domain/organisation/triage-verdict.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['ProjectNotFound'] },
});

export async function triageWorkflow(input: TriageInput): Promise<TriageResult> {
  const verdict = await acts.triageMessage({ source: input.source, from: input.from, subject: input.subject, text: input.text, projectId: input.projectId });
  if (!verdict.isBug) {
    await acts.recordNonBug({ input, reason: verdict.reason, triageWorkflowId: workflowInfo().workflowId });
    return { isBug: false, reason: verdict.reason };
  }
  const filed = await acts.fileTriagedBug({ input, verdict });
  return { isBug: true, reason: verdict.reason, bugId: filed.bugId, fixWorkflowId: filed.workflowId, priority: verdict.priority };
}
