/** Signals and queries of a pull request's follow-up workflow: imported by the workflow, the intake and the tests. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PullEvent } from '../../src/domain/github/pull-events.js';

export const pullEventSignal = defineSignal<[PullEvent]>('pullEvent');

export interface GitHubPullInput {
  projectId: string;
  projectKey: string;
  repoFullName: string;
  prNumber: number;
  /** the fix that opened the pull request */
  bugId: string;
  fixWorkflowId: string;
  branch: string;
  /** quiet time after the last event before a round starts (a review's comments arrive one by one) */
  debounceMs: number;
  /** rounds the pull request may get in total */
  maxRounds: number;
}

export interface PullRoundSummary {
  round: number;
  workflowId: string;
  status: string;
  reason?: string;
  commitSha?: string;
  threads: number;
}

export interface GitHubPullState {
  rounds: PullRoundSummary[];
  /** the round running now (its fix workflow: a child of this one) */
  current?: string;
  declined: string[];
  handledDeliveries: number;
  closed: boolean;
  /** why the workflow ended or skipped a batch of events */
  notes: string[];
}
export const pullStateQuery = defineQuery<GitHubPullState>('pullState');
