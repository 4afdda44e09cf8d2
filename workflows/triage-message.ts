/**
 * Triage of a free-text report (email, chat, form): the triage model decides whether it is a bug
 * report and extracts it; a bug is filed (which starts its fix), anything else is recorded and
 * not fixed. One workflow per message: a redelivered email finds the existing run.
 */
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { TriageInput, TriageResult } from '../src/domain/organisation/triage-verdict.js';

/**
 * Retries over hours, not seconds: a model outage, an active kill switch or a spent budget holds
 * the message (the triage activity refuses to call the model then) instead of failing it for
 * good after 30 s. Runs started before this patch keep the 5 quick attempts they were begun with.
 */
export const TRIAGE_PATIENT_RETRIES = 'triage-patient-retries';

const nonRetryableErrorTypes = ['ProjectNotFound', 'WorkflowIdTaken'];

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['ProjectNotFound'] },
});

const DEFAULT_RETRY_WINDOW_MS = 12 * 60 * 60 * 1000;

/** 5 s doubling to 10 min: about 70 attempts in 12 hours before the message is marked FAILED. */
const patient = (windowMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: windowMs,
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes },
  });

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes },
});

export async function triageWorkflow(input: TriageInput): Promise<TriageResult> {
  if (!patched(TRIAGE_PATIENT_RETRIES)) return triage(input, acts);
  try {
    return await triage(input, patient(input.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS));
  } catch (err) {
    // Failed for good: the stored message is marked FAILED, listed for a retry, and alerted on.
    const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    await bookkeeping.recordTriageFailure({ input, triageWorkflowId: workflowInfo().workflowId, error: message });
    throw err;
  }
}

async function triage(input: TriageInput, a: typeof acts): Promise<TriageResult> {
  const verdict = await a.triageMessage({ source: input.source, from: input.from, subject: input.subject, text: input.text, projectId: input.projectId });
  if (!verdict.isBug) {
    await a.recordNonBug({ input, reason: verdict.reason, triageWorkflowId: workflowInfo().workflowId });
    return { isBug: false, reason: verdict.reason };
  }
  const filed = await a.fileTriagedBug({ input, verdict });
  return { isBug: true, reason: verdict.reason, bugId: filed.bugId, fixWorkflowId: filed.workflowId, priority: verdict.priority };
}
