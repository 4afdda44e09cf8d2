/** What a notification says, per event. Pure: every channel renders the same facts. */
import type { FixOutcome } from './fix.js';

export type FixEvent = 'pr_opened' | 'fix_failed' | 'fix_stopped';
export const NOTIFICATION_CHANNELS = ['slack', 'email', 'whatsapp', 'webhook'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export interface FixNotice {
  event: FixEvent;
  workflowId: string;
  bugId: string;
  projectId: string;
  projectKey: string;
  bugTitle: string;
  status: FixOutcome['status'];
  reason?: string;
  prUrl?: string;
  iterations: number;
  costUsd: number;
  workflowUrl?: string;
}

export function eventOf(outcome: FixOutcome): FixEvent {
  if (outcome.status === 'pr_created') return 'pr_opened';
  return outcome.status === 'cancelled' ? 'fix_stopped' : 'fix_failed';
}

/** A retry of the same notification carries the same key, so it is sent once. */
export function notificationKey(n: Pick<FixNotice, 'workflowId' | 'event'>, channel: NotificationChannel): string {
  return `${n.workflowId}:${n.event}:${channel}`;
}

/**
 * Slack's escaping for text it renders: &, < and > as entities, so report text such as
 * `<!channel>` or `<https://evil|x>` shows as typed instead of pinging or linking.
 */
export const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `field` renders each interpolated value (e.g. slackEscape); the default keeps them as they are. */
export function noticeSubject(n: FixNotice, field: (s: string) => string = (s) => s): string {
  const what = n.event === 'pr_opened' ? 'Fix ready for review' : n.event === 'fix_stopped' ? 'Fix stopped' : 'Fix failed';
  // Cut before rendering, so an entity is never cut in half.
  const head = `[${n.projectKey}] ${what}: `;
  return `${field(`[${n.projectKey}]`)} ${what}: ${field(n.bugTitle.slice(0, Math.max(0, 200 - head.length)))}`;
}

export function noticeText(n: FixNotice, field: (s: string) => string = (s) => s): string {
  const lines = [noticeSubject(n, field)];
  if (n.prUrl) lines.push(`Pull request: ${field(n.prUrl)}`);
  if (n.reason) lines.push(`Reason: ${field(n.reason)}`);
  lines.push(`Iterations: ${n.iterations}, cost: $${n.costUsd.toFixed(4)}`);
  if (n.workflowUrl) lines.push(`Workflow: ${field(n.workflowUrl)}`);
  return lines.join('\n');
}
