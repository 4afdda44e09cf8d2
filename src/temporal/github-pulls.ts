/** Hands a pull request event to its PR's follow-up workflow: signal-with-start, one workflow per PR. */
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import type { PullEvent } from '../domain/github/pull-events.js';
import type { githubPullWorkflow } from '../../workflows/github-pull/workflow.js';
import { pullEventSignal, type GitHubPullInput } from '../../workflows/github-pull/messages.js';

export const githubPullWorkflowId = (repoFullName: string, pr: number) => `github-pr:${repoFullName.toLowerCase()}#${pr}`;

export async function signalPullWorkflow(temporal: Client, input: GitHubPullInput, event: PullEvent): Promise<string> {
  const workflowId = githubPullWorkflowId(input.repoFullName, input.prNumber);
  await temporal.workflow.signalWithStart<typeof githubPullWorkflow, [PullEvent]>('githubPullWorkflow', {
    workflowId,
    taskQueue: taskQueues.main,
    args: [input],
    signal: pullEventSignal,
    signalArgs: [event],
    staticSummary: `GitHub ${input.repoFullName} pull request #${input.prNumber}: follow-up rounds`.slice(0, 200),
  });
  return workflowId;
}
