/** Hands a trigger to its issue's workflow: signal-with-start, one workflow per issue. */
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import type { IssueTrigger } from '../domain/github/triggers.js';
import type { githubIssueWorkflow } from '../../workflows/github-issue/workflow.js';
import { issueTriggerSignal, type GitHubIssueInput } from '../../workflows/github-issue/messages.js';

export const githubIssueWorkflowId = (repoFullName: string, issue: number) => `github-issue:${repoFullName.toLowerCase()}#${issue}`;

export async function signalIssueWorkflow(temporal: Client, input: GitHubIssueInput, trigger: IssueTrigger): Promise<string> {
  const workflowId = githubIssueWorkflowId(input.repoFullName, input.issueNumber);
  await temporal.workflow.signalWithStart<typeof githubIssueWorkflow, [IssueTrigger]>('githubIssueWorkflow', {
    workflowId,
    taskQueue: taskQueues.main,
    args: [input],
    signal: issueTriggerSignal,
    signalArgs: [trigger],
    staticSummary: `GitHub ${input.repoFullName}#${input.issueNumber}: ${trigger.issueTitle}`.slice(0, 200),
  });
  return workflowId;
}
