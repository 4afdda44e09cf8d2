/**
 * Sending one organisation alert to one channel: Slack incoming webhook, email (SMTP), the signed
 * webhook fix notices use, and PagerDuty's Events API v2. Base URLs are configuration; a refusal
 * that will not change on retry is a non-retryable failure.
 */
import { IncomingWebhook, type FetchFunction } from '@slack/webhook';
import { ApplicationFailure } from '@temporalio/common';
import nodemailer from 'nodemailer';
import { alertText, pagerDutyDedupKey, type AlertChannel, type AlertSeverity } from '../domain/organisation/alert-rules.js';
import type { AlertConfig } from './alert-config.js';
import type { Alert } from '../generated/prisma/client.js';
import { postSignedWebhook } from '../infra/signed-webhook.js';
import { outboundFetch, refusalIn } from '../infra/outbound-http.js';

export type PagerDutyAction = 'trigger' | 'resolve';

const notConfigured = (what: string) => ApplicationFailure.nonRetryable(`${what} is not configured`, 'NotConfigured');

/** PagerDuty Events API v2: trigger and resolve share the dedup_key, so a resolve closes the incident. */
async function pagerDuty(config: AlertConfig, alert: Alert, action: PagerDutyAction, text: string): Promise<unknown> {
  const pd =
    config.pagerDuty ??
    (() => {
      throw notConfigured('PagerDuty (PAGERDUTY_ROUTING_KEY)');
    })();
  const event = {
    routing_key: pd.routingKey,
    event_action: action,
    dedup_key: pagerDutyDedupKey(alert.id),
    ...(action === 'trigger'
      ? {
          payload: {
            summary: text.slice(0, 1024),
            source: `bugfix-service/${alert.source}`,
            severity: alert.severity as AlertSeverity,
            timestamp: alert.createdAt.toISOString(),
            component: alert.rule,
            custom_details: { alertId: alert.id, value: alert.value, threshold: alert.threshold, details: alert.details },
          },
        }
      : {}),
  };
  const res = await outboundFetch(config.outbound)(pd.eventsUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  const body = (await res.json().catch(() => ({}))) as { status?: string; message?: string; dedup_key?: string; errors?: string[] };
  if (res.status === 400)
    throw ApplicationFailure.nonRetryable(`PagerDuty refused the event: ${body.message ?? ''} ${(body.errors ?? []).join('; ')}`.trim(), 'AlertRejected');
  if (res.status !== 202) throw new Error(`PagerDuty answered HTTP ${res.status}`);
  return { status: res.status, dedupKey: body.dedup_key };
}

export async function sendAlertTo(
  config: AlertConfig,
  channel: AlertChannel,
  alert: Alert,
  action: PagerDutyAction,
  round: number,
  key: string,
): Promise<unknown> {
  try {
    return await sendOn(config, channel, alert, action, round, key);
  } catch (err) {
    // A private or non-https destination stays refused however often it is retried.
    const refused = refusalIn(err);
    if (refused) throw ApplicationFailure.nonRetryable(`the ${channel} alert URL is refused: ${refused.message}`, 'DestinationRefused');
    throw err;
  }
}

async function sendOn(config: AlertConfig, channel: AlertChannel, alert: Alert, action: PagerDutyAction, round: number, key: string): Promise<unknown> {
  const text = alertText({ ...alert, status: alert.status }, action, round);
  switch (channel) {
    case 'slack': {
      if (!config.slackWebhookUrl) throw notConfigured('Slack (ALERT_SLACK_WEBHOOK_URL)');
      const r = await new IncomingWebhook(config.slackWebhookUrl, { fetch: outboundFetch(config.outbound) as FetchFunction }).send({ text });
      return { text: r.text };
    }
    case 'email': {
      if (!config.emailTo) throw notConfigured('email (ALERT_EMAIL_TO)');
      if (!config.smtpUrl) throw notConfigured('SMTP_URL for alert emails');
      const info = await nodemailer.createTransport(config.smtpUrl).sendMail({
        from: config.emailFrom,
        to: config.emailTo,
        subject: text.split('\n')[0]!.slice(0, 200),
        text,
        messageId: `<${key.replace(/[^A-Za-z0-9.-]/g, '.')}@bugfix>`,
      });
      return { messageId: info.messageId };
    }
    case 'webhook': {
      if (!config.webhook) throw notConfigured('the alert webhook (ALERT_WEBHOOK_URL)');
      const body = JSON.stringify({
        type: 'alert',
        action,
        round,
        text,
        alert: {
          id: alert.id,
          rule: alert.rule,
          severity: alert.severity,
          status: alert.status.toLowerCase(),
          summary: alert.summary,
          source: alert.source,
          value: alert.value,
          threshold: alert.threshold,
          projectId: alert.projectId,
          budgetId: alert.budgetId,
          details: alert.details,
          createdAt: alert.createdAt.toISOString(),
          resolvedAt: alert.resolvedAt?.toISOString() ?? null,
        },
      });
      return postSignedWebhook(outboundFetch(config.outbound), config.webhook.url, config.webhook.secret, body, key);
    }
    case 'pagerduty':
      return pagerDuty(config, alert, action, text);
  }
}
