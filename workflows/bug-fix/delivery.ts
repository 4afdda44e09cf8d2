/**
 * Delivery of a validated fix: its branch pushed and a pull request opened from the sandbox. The
 * request is built here from the report, the agent's completion and what the fix spent.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { FixInput, FollowUpRound } from '../../src/domain/fix/fix.js';
import { fixBranchName } from '../../src/domain/fix/ids.js';
import { pullRequestBody, pullRequestTitle } from '../../src/domain/fix/pull-request.js';
import type { HostActivities } from '../activity-proxies.js';
import type { Completion } from './agent-loop.js';
import type { SandboxWork } from './sandbox-work.js';
import type { FixRun, SandboxRef } from './state.js';

/** The bug report and its project's settings, as startFix loads them. */
export type LoadedReport = Awaited<ReturnType<HostActivities['startFix']>>;
type DeliveryRequest = Omit<Parameters<HostActivities['deliverFix']>[0], 'workflowId' | 'containerId'>;

export function deliveryRequest(args: {
  input: FixInput;
  workflowId: string;
  report: LoadedReport;
  fix: FixRun;
  sandbox: SandboxRef;
  completion: Completion;
  followUp?: FollowUpRound;
}): DeliveryRequest {
  const { input, workflowId, report, fix, sandbox, completion, followUp } = args;
  if (followUp) {
    // One more commit on the PR's branch, on the head the round started from; no PR, no labels, no issue link.
    const subject = `Address review feedback (round ${followUp.round})`;
    return {
      baseSha: sandbox.baseSha,
      branch: followUp.branch,
      baseBranch: followUp.branch,
      commitMessage: subject,
      repoOwner: report.repoOwner,
      repoName: report.repoName,
      cloneUrl: report.cloneUrl,
      defaultBranch: report.defaultBranch,
      prTitle: subject,
      prBody: completion.summary,
      scopeLimits: report.scopeLimits,
      githubIssueNumber: null,
      bugId: input.bugId,
      projectId: input.projectId,
      followUp: { prNumber: followUp.prNumber },
    };
  }
  return {
    baseSha: sandbox.baseSha,
    branch: fixBranchName(input.bugId),
    commitMessage: pullRequestTitle(report.title),
    repoOwner: report.repoOwner,
    repoName: report.repoName,
    cloneUrl: report.cloneUrl,
    defaultBranch: report.defaultBranch,
    prTitle: pullRequestTitle(report.title),
    draft: report.prDraft,
    labels: report.prLabels,
    scopeLimits: report.scopeLimits,
    githubIssueNumber: report.githubIssueNumber,
    bugId: input.bugId,
    projectId: input.projectId,
    prBody: pullRequestBody({
      bugTitle: report.title,
      bugDescription: report.description,
      summary: completion.summary,
      filesChanged: completion.filesChanged,
      validation: fix.validation,
      iterations: fix.iteration,
      usage: fix.usage,
      costUsd: fix.costUsd(),
      workflowUrl: input.workflowUrl ?? workflowId,
      githubIssueNumber: report.githubIssueNumber,
      environment: sandbox.environment,
      reproduction: fix.reproduction,
    }),
  };
}

/** Pushes the branch and opens the pull request. */
export async function deliver(
  fix: FixRun,
  sandbox: SandboxWork,
  what: { input: FixInput; report: LoadedReport; completion: Completion; pauseHolds: boolean; followUp?: FollowUpRound },
): Promise<void> {
  const { input, report, completion } = what;
  // Under patch PAUSE_HOLDS_EVERY_STEP: a paused fix opens no pull request.
  if (what.pauseHolds) await fix.unlessPaused();
  fix.enter('delivering');
  const { workflowId } = workflowInfo();
  const delivery = deliveryRequest({ input, workflowId, report, fix, sandbox: fix.sandbox!, completion, followUp: what.followUp });
  fix.pr = await sandbox.run('push the branch and open the pull request', (acts, containerId) => acts.deliverFix({ ...delivery, workflowId, containerId }));
  fix.timings.toPrMs = Date.now() - fix.startedAt;
}
