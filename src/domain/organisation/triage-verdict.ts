/** Types of triage: a free-text message (email, chat, form) → a bug report or a recorded non-bug. */
export type TriagePriority = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';

export interface TriageInput {
  projectId: string;
  projectKey: string;
  source: 'email' | 'chat' | 'form';
  from: string;
  subject: string;
  text: string;
  /** stable per message (provider message id or content hash): the filed bug's external id */
  externalId: string;
  /** how long triage keeps retrying before the message is FAILED (TRIAGE_RETRY_WINDOW_MINUTES); default 12 hours */
  retryWindowMs?: number;
}

export interface TriageVerdict {
  isBug: boolean;
  reason: string;
  title?: string;
  description?: string;
  steps?: string;
  priority?: TriagePriority;
}

export interface TriageResult {
  isBug: boolean;
  reason: string;
  bugId?: string;
  fixWorkflowId?: string;
  priority?: TriagePriority;
}

/** Name of the tool the triage model must answer with (also how a scripted model recognises triage). */
export const TRIAGE_TOOL_NAME = 'record_triage';

export function triageWorkflowId(projectKey: string, externalId: string): string {
  return `triage-${projectKey}-${externalId}`;
}

/**
 * Where a stored inbound message is: PENDING (stored, triage not started), TRIAGING, then FILED,
 * NOT_BUG or FAILED (the triage run failed for good; listed in the admin API for a retry).
 */
export const INBOUND_STATUSES = ['PENDING', 'TRIAGING', 'FILED', 'NOT_BUG', 'FAILED'] as const;
export type InboundStatus = (typeof INBOUND_STATUSES)[number];
