/**
 * Organisation-level alert settings from the parsed configuration: where alerts go (Slack, email,
 * a signed webhook, PagerDuty) and the rule thresholds. Base URLs are settings like any other:
 * tests and the bench point them at local stand-ins.
 */
import { outboundPolicyFrom, type AppConfig } from '../config.js';
import type { OutboundPolicy } from '../infra/outbound-http.js';
import type { AlertRuleSettings, ConfiguredChannels } from '../domain/organisation/alert-rules.js';

export interface AlertConfig {
  slackWebhookUrl?: string;
  emailTo?: string[];
  smtpUrl?: string;
  emailFrom: string;
  webhook?: { url: string; secret: string };
  pagerDuty?: { routingKey: string; eventsUrl: string };
  /** where Slack, webhook and PagerDuty alerts may go (SSRF guard); default NOTIFY_ALLOW_HTTP / NOTIFY_ALLOW_NETWORKS */
  outbound?: OutboundPolicy;
  rules: AlertRuleSettings;
  /** seconds between runs of the alert Schedule */
  evaluateEverySeconds: number;
}

export function alertConfigFrom(c: AppConfig): AlertConfig {
  if (c.ALERT_WEBHOOK_URL && (c.ALERT_WEBHOOK_SECRET ?? '').length < 16) {
    throw new Error('Invalid configuration: ALERT_WEBHOOK_URL needs ALERT_WEBHOOK_SECRET (at least 16 characters) to sign the alerts');
  }
  const emailTo = c.ALERT_EMAIL_TO?.split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  return {
    slackWebhookUrl: c.ALERT_SLACK_WEBHOOK_URL,
    emailTo: emailTo && emailTo.length > 0 ? emailTo : undefined,
    smtpUrl: c.SMTP_URL,
    emailFrom: c.EMAIL_FROM,
    webhook: c.ALERT_WEBHOOK_URL ? { url: c.ALERT_WEBHOOK_URL, secret: c.ALERT_WEBHOOK_SECRET! } : undefined,
    pagerDuty: c.PAGERDUTY_ROUTING_KEY ? { routingKey: c.PAGERDUTY_ROUTING_KEY, eventsUrl: c.PAGERDUTY_EVENTS_URL } : undefined,
    outbound: outboundPolicyFrom(c),
    rules: {
      failureRatePct: c.ALERT_FAILURE_RATE_PCT,
      failureWindowMinutes: c.ALERT_FAILURE_WINDOW_MINUTES,
      failureMinFixes: c.ALERT_FAILURE_MIN_FIXES,
      queueBackupMinutes: c.ALERT_QUEUE_BACKUP_MINUTES,
      queueBackupMinFixes: c.ALERT_QUEUE_BACKUP_MIN_FIXES,
      tokensPerFix: c.ALERT_TOKENS_PER_FIX,
      tokensWindowMinutes: c.ALERT_TOKENS_WINDOW_MINUTES,
      dailySpendUsd: c.ALERT_DAILY_SPEND_USD,
      dedupeWindowMinutes: c.ALERT_DEDUPE_WINDOW_MINUTES,
      pagerDutyMinSeverity: c.ALERT_PAGERDUTY_MIN_SEVERITY,
    },
    evaluateEverySeconds: c.ALERT_EVALUATE_EVERY_S,
  };
}

export function configuredChannels(a: AlertConfig): ConfiguredChannels {
  return { slack: !!a.slackWebhookUrl, email: !!a.emailTo, webhook: !!a.webhook, pagerduty: !!a.pagerDuty };
}
