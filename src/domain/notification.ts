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

export function noticeSubject(n: FixNotice): string {
  const what = n.event === 'pr_opened' ? 'Fix ready for review' : n.event === 'fix_stopped' ? 'Fix stopped' : 'Fix failed';
  return `[${n.projectKey}] ${what}: ${n.bugTitle}`.slice(0, 200);
}

export function noticeText(n: FixNotice): string {
  const lines = [noticeSubject(n)];
  if (n.prUrl) lines.push(`Pull request: ${n.prUrl}`);
  if (n.reason) lines.push(`Reason: ${n.reason}`);
  lines.push(`Iterations: ${n.iterations}, cost: $${n.costUsd.toFixed(4)}`);
  if (n.workflowUrl) lines.push(`Workflow: ${n.workflowUrl}`);
  return lines.join('\n');
}
