/**
 * Organisation alerts (issue #7). alertEvaluatorWorkflow is what the alert Schedule starts
 * (src/temporal/alert-schedule.ts): one activity that evaluates budgets and rules and dispatches.
 * alertDispatchWorkflow delivers one alert round to every channel (one activity each, so each is
 * retried on its own) and, for a budget's HARD crossing, presses the kill switch alongside.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { BUDGET_PRESS_TIMEOUT_MS } from '../src/domain/organisation/org-budget.js';

export interface AlertDispatchInput {
  alertId: string;
  action: 'trigger' | 'resolve';
  /** trigger round: 1, then one per reminder */
  round: number;
  /** a HARD budget crossing whose kill switch this dispatch presses */
  crossingId?: string;
}

const evaluator = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['AlertsMisconfigured'] },
});

const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 8,
    nonRetryableErrorTypes: ['NotConfigured', 'AlertRejected', 'WebhookRejected', 'AlertsMisconfigured'],
  },
});

/**
 * The press waits for the safety controller's fan-out up to the update deadline (30 s): its own
 * time limit is longer, so a slow fan-out ends inside the activity, which checks whether the
 * switch was set, rather than in a timeout whose retry presses again.
 */
const switchPress = proxyActivities<Activities>({
  startToCloseTimeout: BUDGET_PRESS_TIMEOUT_MS,
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes: ['AlertsMisconfigured'] },
});

const failureText = (r: PromiseSettledResult<unknown>): string | null => (r.status === 'rejected' ? String((r.reason as Error)?.message ?? r.reason) : null);

export async function alertEvaluatorWorkflow(): Promise<Awaited<ReturnType<Activities['evaluateAlerts']>>> {
  return evaluator.evaluateAlerts();
}

export async function alertDispatchWorkflow(input: AlertDispatchInput): Promise<{ channels: string[]; failed: string[]; killSwitch?: string }> {
  const d = { alertId: input.alertId, action: input.action, round: input.round };
  // Pressed alongside the sends, not after them: stopping spend must not wait for Slack.
  // Settled at once so a failure waits here (handled) until the sends are done.
  const pressing = input.crossingId ? Promise.allSettled([switchPress.activateBudgetSwitch({ crossingId: input.crossingId })]) : undefined;
  const { channels } = await delivery.alertDelivery(d);
  const sent = await Promise.allSettled(channels.map((channel) => delivery.sendAlert({ ...d, channel })));
  // A channel that failed for good is reported, not retried forever: the others were delivered.
  const failed = sent.flatMap((r, i) => {
    const why = failureText(r);
    return why ? [`${channels[i]}: ${why}`] : [];
  });
  await delivery.markAlertDelivered({ ...d, failed });
  // The switch failing fails the run; the evaluator presses it again (its crossing stays unpressed).
  const [pressed] = pressing ? await pressing : [];
  if (pressed?.status === 'rejected') throw pressed.reason;
  return { channels, failed, ...(pressed ? { killSwitch: pressed.value.scope } : {}) };
}
