/**
 * Alert rules and alert deduplication (issue #7): which rules fire on given metrics, what to do
 * with an alert that is already active, and which channels an alert goes to. Pure; the metrics
 * are read and the alerts stored by activities/alerts.ts.
 */

export type AlertSeverity = 'info' | 'warning' | 'critical';
const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };

export const ALERT_RULES = ['high_failure_rate', 'queue_backup', 'high_token_usage', 'daily_spend'] as const;
export type AlertRuleId = (typeof ALERT_RULES)[number];

export const ALERT_CHANNELS = ['slack', 'email', 'webhook', 'pagerduty'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];

/**
 * Thresholds; the defaults are the original design's DEFAULT_ALERT_RULES (50 % failures over an
 * hour, queue over 15 minutes, 100K tokens per fix, $100 a day, 30 minutes of deduplication).
 */
export interface AlertRuleSettings {
  failureRatePct: number;
  failureWindowMinutes: number;
  /** fewer finished fixes than this in the window say nothing about a rate */
  failureMinFixes: number;
  queueBackupMinutes: number;
  queueBackupMinFixes: number;
  tokensPerFix: number;
  tokensWindowMinutes: number;
  dailySpendUsd: number;
  /** an active alert is re-sent as a reminder at most this often while it keeps firing */
  dedupeWindowMinutes: number;
  /** PagerDuty pages for alerts of at least this severity */
  pagerDutyMinSeverity: AlertSeverity;
}

export const DEFAULT_RULE_SETTINGS: AlertRuleSettings = {
  failureRatePct: 50,
  failureWindowMinutes: 60,
  failureMinFixes: 3,
  queueBackupMinutes: 15,
  queueBackupMinFixes: 1,
  tokensPerFix: 100_000,
  tokensWindowMinutes: 60,
  dailySpendUsd: 100,
  dedupeWindowMinutes: 30,
  pagerDutyMinSeverity: 'critical',
};

/** What the evaluator measured; a rule whose metric is absent is not evaluated (spend events read only spend). */
export interface AlertMetrics {
  finished?: { failed: number; total: number };
  queuedTooLong?: number;
  tokens?: { fixes: number; tokens: number };
  spendTodayUsd?: number;
}

export interface RuleVerdict {
  rule: AlertRuleId;
  firing: boolean;
  severity: AlertSeverity;
  value: number | null;
  threshold: number;
  summary: string;
}

export function evaluateRules(m: AlertMetrics, s: AlertRuleSettings): RuleVerdict[] {
  const out: RuleVerdict[] = [];
  if (m.finished) {
    const { failed, total } = m.finished;
    const pct = total > 0 ? (failed / total) * 100 : null;
    out.push({
      rule: 'high_failure_rate',
      severity: 'critical',
      value: pct,
      threshold: s.failureRatePct,
      firing: pct !== null && total >= s.failureMinFixes && pct > s.failureRatePct,
      summary: `High fix failure rate: ${failed} of ${total} fixes failed in the last ${s.failureWindowMinutes} min (${(pct ?? 0).toFixed(0)}% > ${s.failureRatePct}%)`,
    });
  }
  if (m.queuedTooLong !== undefined) {
    out.push({
      rule: 'queue_backup',
      severity: 'warning',
      value: m.queuedTooLong,
      threshold: s.queueBackupMinFixes,
      firing: m.queuedTooLong >= s.queueBackupMinFixes,
      summary: `Queue backup: ${m.queuedTooLong} fix(es) queued and not started for more than ${s.queueBackupMinutes} min`,
    });
  }
  if (m.tokens) {
    const perFix = m.tokens.fixes > 0 ? m.tokens.tokens / m.tokens.fixes : null;
    out.push({
      rule: 'high_token_usage',
      severity: 'warning',
      value: perFix,
      threshold: s.tokensPerFix,
      firing: perFix !== null && perFix > s.tokensPerFix,
      summary: `High token usage: ${Math.round(perFix ?? 0)} tokens per fix over the last ${s.tokensWindowMinutes} min (threshold ${s.tokensPerFix})`,
    });
  }
  if (m.spendTodayUsd !== undefined) {
    out.push({
      rule: 'daily_spend',
      severity: 'warning',
      value: m.spendTodayUsd,
      threshold: s.dailySpendUsd,
      firing: m.spendTodayUsd > s.dailySpendUsd,
      summary: `Daily spend $${m.spendTodayUsd.toFixed(2)} is above $${s.dailySpendUsd.toFixed(2)} (UTC day)`,
    });
  }
  return out;
}

export function ruleDedupeKey(rule: AlertRuleId): string {
  return `rule:${rule}`;
}

/** At most one active alert per deployment and dedupe key. */
export function activeKeyOf(source: string, dedupeKey: string): string {
  return `${source}|${dedupeKey}`;
}

export interface ActiveAlertState {
  notifyRound: number;
  deliveredRound: number;
  notifiedAt: Date | null;
}

export type AlertRoundKind = 'create' | 'update' | 'remind';

/**
 * A condition seen again: no active alert → a new one is sent; an active one is updated, not
 * re-sent, unless its last delivery is older than the window (then one reminder is sent).
 */
export function alertAction(active: ActiveAlertState | null, now: Date, windowMs: number): AlertRoundKind {
  if (!active) return 'create';
  const settled = active.deliveredRound >= active.notifyRound && active.notifiedAt !== null;
  return settled && now.getTime() - active.notifiedAt!.getTime() >= windowMs ? 'remind' : 'update';
}

export interface ConfiguredChannels {
  slack: boolean;
  email: boolean;
  webhook: boolean;
  pagerduty: boolean;
}

/** Every configured channel; PagerDuty only from its minimum severity (nobody is paged for a warning by default). */
export function channelsFor(severity: AlertSeverity, configured: ConfiguredChannels, pagerDutyMin: AlertSeverity): AlertChannel[] {
  return ALERT_CHANNELS.filter((c) => configured[c] && (c !== 'pagerduty' || SEVERITY_RANK[severity] >= SEVERITY_RANK[pagerDutyMin]));
}

export function isSeverity(s: string): s is AlertSeverity {
  return s in SEVERITY_RANK;
}

/** PagerDuty's dedup_key: one incident per alert row, so a reminder or a resolve finds it. */
export function pagerDutyDedupKey(alertId: string): string {
  return `bugfix-alert-${alertId}`;
}

/** The idempotency key of one delivery: a retried send of the same round goes out once. */
export function alertDeliveryKey(alertId: string, action: 'trigger' | 'resolve', round: number, channel: AlertChannel): string {
  return action === 'resolve' ? `alert:${alertId}:resolve:${channel}` : `alert:${alertId}:trigger:${round}:${channel}`;
}

export interface AlertFacts {
  id: string;
  rule: string;
  severity: string;
  summary: string;
  status: 'ACTIVE' | 'RESOLVED';
  seenCount: number;
  createdAt: Date;
  resolvedBy?: string | null;
}

export function alertText(a: AlertFacts, action: 'trigger' | 'resolve', round: number): string {
  if (action === 'resolve') return `Resolved${a.resolvedBy ? ` by ${a.resolvedBy}` : ''}: ${a.summary}`;
  const prefix = a.severity === 'critical' ? 'CRITICAL' : a.severity === 'warning' ? 'Warning' : 'Info';
  const still = round > 1 ? ` (still firing since ${a.createdAt.toISOString()}, seen ${a.seenCount} times)` : '';
  return `[${prefix}] ${a.summary}${still}`;
}
