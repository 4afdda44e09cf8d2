/** Database reads and writes of a fix's report row. */
import { ApplicationFailure } from '@temporalio/common';
import type { FixBudgets, FixOutcome, ValidationCommands } from '../src/domain/fix/fix.js';
import { storedFixBudgets } from '../src/projects/project-settings.js';
import { parseReproductionPolicy, type ReproductionPolicy } from '../src/domain/fix/reproduction.js';
import { configuredGitPolicy } from '../src/infra/git.js';
import { withoutCredentials } from '../src/projects/clone-url.js';
import type { ScopeLimits } from '../src/domain/agent/scope.js';
import { unitsToUsdString, COST_UNITS_PER_USD, totalTokens } from '../src/domain/fix/pricing.js';
import { Prisma, type PrismaClient } from '../src/db/prisma.js';
import { storableText } from '../src/db/jsonb.js';

export interface FixContext {
  bugId: string;
  title: string;
  description: string;
  projectKey: string;
  repoOwner: string;
  repoName: string;
  cloneUrl: string;
  defaultBranch: string;
  validation: ValidationCommands;
  scopeLimits: ScopeLimits;
  prDraft: boolean;
  prLabels: string[];
  githubIssueNumber: number | null;
  /** the project's own per-fix budgets (Project.budgets), over the defaults */
  budgets: Partial<FixBudgets>;
  /** the project's reproduction test policy (absent in results recorded before it existed) */
  reproduction?: ReproductionPolicy;
}

/** A project without its own cloneUrl lives on the GitHub the API URL names (github.com, or an Enterprise host). */
export function defaultCloneUrl(owner: string, name: string): string {
  return `${configuredGitPolicy().credentialUrl}/${owner}/${name}.git`;
}

export function createFixRecordActivities(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;
  return {
    /** `followUp`: a round on the fix's pull request, which leaves the bug's own status as the fix left it. */
    async startFix(input: { bugId: string; followUp?: boolean }): Promise<FixContext> {
      const bug = await prisma.bugReport.findUnique({ where: { id: input.bugId }, include: { project: true } });
      if (!bug) throw ApplicationFailure.nonRetryable(`bug ${input.bugId} does not exist`, 'BugNotFound');
      if (!input.followUp) await prisma.bugReport.update({ where: { id: bug.id }, data: { status: 'IN_PROGRESS' } });
      const p = bug.project;
      return {
        bugId: bug.id,
        title: bug.title,
        description: bug.description,
        projectKey: p.key,
        repoOwner: p.repoOwner,
        repoName: p.repoName,
        // History holds this: the activities that run git add the credentials back (withStoredCredentials).
        cloneUrl: withoutCredentials(p.cloneUrl ?? defaultCloneUrl(p.repoOwner, p.repoName)),
        defaultBranch: p.defaultBranch,
        validation: p.validation as ValidationCommands,
        scopeLimits: p.scopeLimits as ScopeLimits,
        prDraft: p.prDraft,
        prLabels: p.prLabels,
        githubIssueNumber: bug.githubIssueNumber,
        // Validated when stored (admin API); a row edited by hand into nonsense falls back to defaults.
        // Without operatorMax: that bounds raises (src/fixes/fix-control.ts), it is not a budget.
        budgets: storedFixBudgets(p.budgets),
        reproduction: parseReproductionPolicy(p.reproduction),
      };
    },

    /** `followUpRound`: the round's PR workflow records it (PullRequestRound); the bug keeps its PR, status and cost. */
    async recordOutcome(input: { bugId: string; outcome: FixOutcome; followUpRound?: boolean }): Promise<void> {
      const o = input.outcome;
      if (input.followUpRound) return;
      const bug = await prisma.bugReport.findUniqueOrThrow({ where: { id: input.bugId }, select: { workflowId: true } });
      const status = o.status === 'pr_created' ? 'PR_CREATED' : o.status === 'cancelled' ? 'CANCELLED' : 'FAILED';
      await prisma.bugReport.update({
        where: { id: input.bugId },
        data: {
          status,
          statusReason: o.reason === undefined ? null : storableText(o.reason), // may quote git or install stderr
          prUrl: o.pr?.url ?? null,
          prNumber: o.pr?.number ?? null,
          fixBranch: o.pr?.branch ?? null,
          fixRepo: o.pr?.repository ?? null,
          iterations: o.iterations,
          tokensUsed: totalTokens(o.usage),
          costUsd: new Prisma.Decimal(unitsToUsdString(Math.round(o.costUsd * COST_UNITS_PER_USD))),
          completedAt: new Date(),
        },
      });
      // The fix is over: its workspace checkpoints (possibly megabytes each) have no further use.
      await prisma.workspaceCheckpoint.deleteMany({ where: { workflowId: bug.workflowId } });
    },
  };
}
