/**
 * Organisation alerts as activities: the scheduled evaluation, and the steps of one alert's
 * delivery (which channels, one send per channel deduplicated through NotificationDelivery,
 * marking the round delivered, pressing a budget's kill switch).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { Prisma, type PrismaClient } from '../src/db/prisma.js';
import { withoutNul } from '../src/db/jsonb.js';
import { alertDeliveryKey, channelsFor, isSeverity, type AlertChannel } from '../src/domain/organisation/alert-rules.js';
import { configuredChannels, type AlertConfig } from '../src/alerts/alert-config.js';
import { activateCrossingSwitch } from '../src/alerts/budget-switch.js';
import { evaluateAll, onSpend, type EvaluationSummary } from '../src/alerts/evaluator.js';
import { activityLog } from '../src/infra/log.js';
import { sendAlertTo, type PagerDutyAction } from '../src/alerts/alert-channels.js';

export interface AlertDeliveryInput {
  alertId: string;
  action: PagerDutyAction;
  round: number;
}

export interface AlertDeps {
  prisma: PrismaClient;
  temporal?: Client;
  config: AlertConfig;
  /** the deployment's shared task queue */
  taskQueue: string;
}

export function evaluatorDeps(deps: AlertDeps) {
  return { prisma: deps.prisma, temporal: deps.temporal, taskQueue: deps.taskQueue, rules: deps.config.rules };
}

/** What callModel runs after its ledger row is written. Never throws: a spend check must not fail a model call. */
export function createSpendCheck(deps: AlertDeps): (e: { projectId: string }) => Promise<void> {
  const ev = evaluatorDeps(deps);
  return (e) =>
    onSpend(ev, e).catch((err: unknown) => {
      activityLog().warn({ err, projectId: e.projectId }, 'spend check failed; the alert schedule will catch up');
    });
}

export function createAlertActivities(deps: AlertDeps) {
  const temporal = (): Client =>
    deps.temporal ??
    (() => {
      throw ApplicationFailure.nonRetryable('alert activities need a Temporal client in the activity deps', 'AlertsMisconfigured');
    })();

  return {
    async evaluateAlerts(): Promise<EvaluationSummary> {
      temporal();
      return evaluateAll(evaluatorDeps(deps));
    },

    /** The channels this alert goes to; none when it is gone (deleted with its history). */
    async alertDelivery(input: AlertDeliveryInput): Promise<{ channels: AlertChannel[] }> {
      const alert = await deps.prisma.alert.findUnique({ where: { id: input.alertId }, select: { severity: true } });
      if (!alert) return { channels: [] };
      const severity = isSeverity(alert.severity) ? alert.severity : 'critical';
      return { channels: channelsFor(severity, configuredChannels(deps.config), deps.config.rules.pagerDutyMinSeverity) };
    },

    async sendAlert(input: AlertDeliveryInput & { channel: AlertChannel }): Promise<{ sent: boolean }> {
      const key = alertDeliveryKey(input.alertId, input.action, input.round, input.channel);
      if (await deps.prisma.notificationDelivery.findUnique({ where: { idempotencyKey: key } })) return { sent: false };
      const alert = await deps.prisma.alert.findUnique({ where: { id: input.alertId } });
      if (!alert) return { sent: false };
      // Trigger and resolve are separate dispatches: a trigger still retrying (a 5xx) when the
      // resolve went out would open a PagerDuty incident that nothing resolves. Recorded as
      // skipped, so its retries skip too.
      if (input.action === 'trigger' && alert.status === 'RESOLVED') {
        await deps.prisma.notificationDelivery.createMany({
          data: [
            {
              idempotencyKey: key,
              channel: input.channel,
              event: 'alert-trigger',
              response: { skipped: 'the alert was resolved before the trigger was sent' },
            },
          ],
          skipDuplicates: true,
        });
        activityLog().info({ channel: input.channel, alertId: alert.id, round: input.round }, 'alert trigger skipped: already resolved');
        return { sent: false };
      }
      const response = await sendAlertTo(deps.config, input.channel, alert, input.action, input.round, key);
      await deps.prisma.notificationDelivery.createMany({
        data: [{ idempotencyKey: key, channel: input.channel, event: `alert-${input.action}`, response: withoutNul(response) as Prisma.InputJsonValue }],
        skipDuplicates: true,
      });
      activityLog().info({ channel: input.channel, alertId: alert.id, action: input.action, round: input.round, rule: alert.rule }, 'alert sent');
      return { sent: true };
    },

    async markAlertDelivered(input: AlertDeliveryInput & { failed: string[] }): Promise<void> {
      const now = new Date();
      if (input.action === 'resolve') {
        await deps.prisma.alert.updateMany({ where: { id: input.alertId, resolveDeliveredAt: null }, data: { resolveDeliveredAt: now } });
      } else {
        await deps.prisma.alert.updateMany({
          where: { id: input.alertId, deliveredRound: { lt: input.round } },
          data: { deliveredRound: input.round, notifiedAt: now },
        });
      }
      if (input.failed.length > 0)
        activityLog().error({ alertId: input.alertId, action: input.action, failed: input.failed }, 'alert could not be delivered to every channel');
    },

    async activateBudgetSwitch(input: { crossingId: string }): Promise<{ scope: string; activated: boolean }> {
      return activateCrossingSwitch(deps.prisma, temporal(), deps.taskQueue, input.crossingId);
    },
  };
}
