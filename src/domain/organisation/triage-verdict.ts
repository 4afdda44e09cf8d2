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
