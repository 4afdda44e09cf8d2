/**
 * Activities of a pull request's follow-up rounds (workflows/github-pull): gather what reviewers
 * asked (open threads, review bodies, PR comments) into the round's record, and after the round
 * reply in each thread it worked on and add the round to the issue's status comment.
 */
import type { PrismaClient } from '../src/db/prisma.js';
import { storableText, withoutNul } from '../src/db/jsonb.js';
import { sanitizeForGitHub } from '../src/domain/fix/pull-request.js';
import { effectiveForbiddenPaths, matchForbidden, type ScopeLimits } from '../src/domain/agent/scope.js';
import {
  feedbackBlock,
  openThreads,
  outOfScopeReply,
  reviewBodies,
  splitByScope,
  threadReplyMarker,
  type ThreadRef,
} from '../src/domain/github/review-threads.js';
import { statusMarker, threadReply, withRounds } from '../src/domain/github/status-comment.js';
import { findMarked, permissionOf, upsertMarkedComment, type RepoRef } from '../src/github/issues.js';
import { pullState, replyInThread, reviewComments, reviews } from '../src/github/pull-reviews.js';
import { expandSuites, failedCheckLog } from '../src/github/check-logs.js';
import { checkFailureBlock, currentFailures } from '../src/domain/github/check-feedback.js';
import type { FailedCheck } from '../src/domain/github/pull-events.js';
import type { GitHubClient } from '../src/infra/github.js';
import { permits, resolveGitHubSettings } from '../src/projects/github-settings.js';
import type { GitHubPullInput } from '../workflows/github-pull/messages.js';
import { roundBudget, type RoundBudget } from '../src/domain/github/pr-budget.js';
import { DEFAULT_BUDGETS } from '../src/domain/fix/fix.js';
import { storedFixBudgets } from '../src/projects/project-settings.js';

interface Deps {
  prisma: PrismaClient;
  github: GitHubClient;
  botLogin: string;
  /** what a pull request may cost in all, fix and rounds, unless its project says otherwise */
  maxCostUsdPerPr: number;
}

/**
 * `cloneUrl`: the PR's head lives in another repository (a fork the fix was delivered to).
 * `maxCostUsd`: the round's dollar budget, what the PR has left when that is below the per-fix one.
 */
export type PreparedRound =
  { skip: string; closed?: boolean } | { round: number; workflowId: string; headSha: string; threads: number; cloneUrl?: string; maxCostUsd?: number };

export function createGitHubPullActivities(deps: Deps) {
  const repoOf = async (projectId: string): Promise<RepoRef> => {
    const p = await deps.prisma.project.findUniqueOrThrow({ where: { id: projectId } });
    return { owner: p.repoOwner, repo: p.repoName };
  };

  /** What the next round may spend: the PR's budget less all its fix and rounds cost (the ledger). */
  const prBudget = async (project: { budgets: unknown }, bugId: string, maxPerPr: number | undefined): Promise<RoundBudget> => {
    const spent = await deps.prisma.ledgerEntry.aggregate({ where: { bugId }, _sum: { costUsd: true } });
    const perFix = storedFixBudgets(project.budgets).maxCostUsd ?? DEFAULT_BUDGETS.maxCostUsd;
    return roundBudget({ spentUsd: Number(spent._sum.costUsd ?? 0), maxPerPrUsd: maxPerPr ?? deps.maxCostUsdPerPr, perFixUsd: perFix });
  };

  return {
    /**
     * The next round's record, or why there is none (PR closed, round limit, nothing open). Only
     * feedback from people with the project's required permission counts. A record left running
     * by an interrupted attempt is taken up again rather than numbered anew.
     */
    async preparePullRound(input: {
      pull: GitHubPullInput;
      prComments: Array<{ author: string; body: string }>;
      checks?: FailedCheck[];
    }): Promise<PreparedRound> {
      const { pull } = input;
      const project = await deps.prisma.project.findUniqueOrThrow({ where: { id: pull.projectId } });
      const r = { owner: project.repoOwner, repo: project.repoName };
      const pr = await pullState(deps.github, r, pull.prNumber);
      if (pr.state !== 'open') return { skip: `pull request is ${pr.merged ? 'merged' : 'closed'}: no round`, closed: true };
      if (pr.headRef !== pull.branch) return { skip: `pull request's head is ${pr.headRef}, not the fix's branch`, closed: true };
      if (!pr.headRepo) return { skip: "the pull request's head repository was deleted: no round", closed: true };
      const fromFork = pr.headRepo.fullName.toLowerCase() !== `${r.owner}/${r.repo}`.toLowerCase();
      const where = { repoFullName: pull.repoFullName.toLowerCase(), prNumber: pull.prNumber };
      const earlier = await deps.prisma.pullRequestRound.findMany({ where, orderBy: { round: 'asc' } });
      const unfinished = earlier.find((x) => x.status === 'running');
      // The project's current settings win over the ones the workflow started with.
      const settings = resolveGitHubSettings(project.github);
      const budget = await prBudget(project, pull.bugId, settings.maxCostUsdPerPr);
      if ('skip' in budget && !unfinished) return budget;
      const roundExtras = { ...(fromFork ? { cloneUrl: pr.headRepo.cloneUrl } : {}), ...('maxCostUsd' in budget ? budget : {}) };
      if (unfinished)
        return {
          round: unfinished.round,
          workflowId: unfinished.id,
          headSha: unfinished.headSha,
          threads: (unfinished.threads as unknown[]).length,
          ...roundExtras,
        };
      const maxRounds = settings.maxRoundsPerPr ?? pull.maxRounds;
      if (earlier.length >= maxRounds) return { skip: `round limit reached (${maxRounds} per pull request)` };

      const needed = settings.minPermission;
      const allowed = new Map<string, boolean>();
      const mayAsk = async (login: string) => {
        if (!allowed.has(login)) allowed.set(login, permits(await permissionOf(deps.github, r, login), needed));
        return allowed.get(login)!;
      };
      const comments = await reviewComments(deps.github, r, pull.prNumber);
      const asked = [];
      // A thread counts when the last person who spoke in it may ask; it is shown whole.
      for (const t of openThreads(comments, deps.botLogin)) if (await mayAsk(t.comments[t.comments.length - 1]!.author)) asked.push(t);
      // Threads on forbidden paths get their answer now and never reach the model (the scope gate would refuse the push anyway).
      const forbidden = effectiveForbiddenPaths(project.scopeLimits as ScopeLimits);
      const { allowed: threads, refused } = splitByScope(asked, (path) => matchForbidden(path, forbidden));
      for (const t of refused) {
        const marker = threadReplyMarker(`scope-${t.comments.length}`, t.rootId);
        await replyInThread(deps.github, r, pull.prNumber, t.rootId, marker, outOfScopeReply(t.path, t.pattern), comments);
      }
      const since = earlier[earlier.length - 1]?.createdAt.toISOString();
      const bodies = [];
      for (const b of reviewBodies(await reviews(deps.github, r, pull.prNumber), deps.botLogin, since)) if (await mayAsk(b.author)) bodies.push(b);
      const checks = currentFailures(await expandSuites(deps.github, r, input.checks ?? []), pr.headSha);
      if (threads.length === 0 && bodies.length === 0 && input.prComments.length === 0 && checks.length === 0) {
        return {
          skip: refused.length ? `only threads on forbidden paths (${refused.length}): answered, no round` : 'no open review thread or request: no round',
        };
      }

      const round = (earlier[earlier.length - 1]?.round ?? 0) + 1;
      const workflowId = `${pull.fixWorkflowId}-round-${round}`;
      const refs: ThreadRef[] = threads.map((t) => ({ rootId: t.rootId, path: t.path, line: t.line }));
      const blocks = [];
      if (threads.length || bodies.length || input.prComments.length)
        blocks.push(feedbackBlock({ prNumber: pull.prNumber, round, threads, reviews: bodies, prComments: input.prComments }));
      if (checks.length) {
        const logs = [];
        for (const c of checks) logs.push(await failedCheckLog(deps.github, r, c));
        blocks.push(checkFailureBlock({ prNumber: pull.prNumber, round, checks: logs }));
      }
      const feedback = blocks.join('\n\n');
      await deps.prisma.pullRequestRound.upsert({
        where: { id: workflowId },
        create: {
          id: workflowId,
          bugId: pull.bugId,
          projectId: pull.projectId,
          ...where,
          round,
          kind: checks.length ? (blocks.length > 1 ? 'review+check' : 'check') : 'review',
          headSha: pr.headSha,
          feedback: storableText(feedback),
          threads: withoutNul(refs) as object,
        },
        update: {},
      });
      return { round, workflowId, headSha: pr.headSha, threads: refs.length, ...roundExtras };
    },

    /** Records how the round ended, replies in each of its threads, and shows it on the issue's status comment. */
    async finishPullRound(input: {
      pull: GitHubPullInput;
      roundId: string;
      status: string;
      reason?: string;
    }): Promise<{ status: string; commitSha?: string; replies: number }> {
      const r = await repoOf(input.pull.projectId);
      const row = await deps.prisma.pullRequestRound.findUniqueOrThrow({ where: { id: input.roundId } });
      const status = row.commitSha && input.status === 'pr_created' ? 'pushed' : input.status === 'cancelled' ? 'cancelled' : 'failed';
      const reason = status === 'pushed' ? null : storableText(sanitizeForGitHub(input.reason ?? 'the round ended without a commit')).slice(0, 500);
      const done = await deps.prisma.pullRequestRound.update({ where: { id: row.id }, data: { status, reason, finishedAt: row.finishedAt ?? new Date() } });

      const threads = row.threads as unknown as ThreadRef[];
      const existing = threads.length ? await reviewComments(deps.github, r, input.pull.prNumber) : [];
      const text = threadReply({ ...done, round: done.round });
      for (const t of threads) await replyInThread(deps.github, r, input.pull.prNumber, t.rootId, threadReplyMarker(row.id, t.rootId), text, existing);
      // A round for failing checks has no thread to answer in: it says so on the pull request.
      if (row.kind.includes('check')) {
        const marker = threadReplyMarker(row.id, 0);
        await upsertMarkedComment(deps.github, r, input.pull.prNumber, marker, `${marker}\nFailing checks, round ${row.round}: ${text}`);
      }

      const bug = await deps.prisma.bugReport.findUnique({ where: { id: input.pull.bugId }, select: { githubIssueNumber: true } });
      if (bug?.githubIssueNumber) {
        const marker = statusMarker(input.pull.bugId);
        const comment = await findMarked(deps.github, r, bug.githubIssueNumber, marker);
        if (comment) {
          const rounds = await deps.prisma.pullRequestRound.findMany({
            where: { repoFullName: row.repoFullName, prNumber: row.prNumber, status: { not: 'running' } },
            orderBy: { round: 'asc' },
          });
          const body = withRounds(
            comment.body,
            rounds.map((x) => ({ ...x, threads: (x.threads as unknown[]).length })),
          );
          if (body !== comment.body) await deps.github.rest.issues.updateComment({ ...r, comment_id: comment.id, body });
        }
      }
      return { status, ...(done.commitSha ? { commitSha: done.commitSha } : {}), replies: threads.length };
    },
  };
}
