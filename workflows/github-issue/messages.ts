/** Signals and queries of the GitHub issue workflow: imported by the workflow, the API and the tests. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IssueTrigger } from '../../src/domain/github/triggers.js';

export const issueTriggerSignal = defineSignal<[IssueTrigger]>('issueTrigger');

export interface GitHubIssueState {
  fix?: { bugId: string; workflowId: string };
  declined: string[];
  handledDeliveries: number;
  outcome?: string;
}
export const issueStateQuery = defineQuery<GitHubIssueState>('issueState');

export interface GitHubIssueInput {
  projectId: string;
  projectKey: string;
  repoFullName: string;
  issueNumber: number;
}
