/**
 * Activities of the GitHub issue loop (workflows/github-issue.ts): may this person ask, answer on
 * the issue, file the issue as a bug report (which starts its fix), and keep the issue's status
 * comment current while the fix runs.
 */
import { sleep } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../src/db/prisma.js';
import type { IssueTrigger } from '../src/domain/github/triggers.js';
import { statusCommentBody, statusDigest, statusMarker } from '../src/domain/github/status-comment.js';
import { queryStatus } from '../src/fixes/fix-queries.js';
import { ReplyThrottle } from '../src/domain/github/reply-throttle.js';
import { permissionOf, upsertMarkedComment, type RepoRef } from '../src/github/issues.js';
import type { GitHubClient } from '../src/infra/github.js';
import { fileBug } from '../src/intake/file-bug.js';
import { fixUiUrl } from '../src/intake/start-fix.js';
import { permits, resolveGitHubSettings } from '../src/projects/github-settings.js';

interface Deps {
  prisma: PrismaClient;
  github: GitHubClient;
  temporal?: Client;
  temporalUiUrl: string;
}

/** How often a running fix's status is read for its issue comment. */
const WATCH_EVERY_MS = 2000;

export function createGitHubIssueActivities(deps: Deps) {
  const declineReplies = new ReplyThrottle();
  const project = async (projectId: string) => deps.prisma.project.findUniqueOrThrow({ where: { id: projectId } });
  const repoOf = (p: { repoOwner: string; repoName: string }): RepoRef => ({ owner: p.repoOwner, repo: p.repoName });
  const temporal = () => {
    if (!deps.temporal) throw new Error('the GitHub issue activities need a Temporal client');
    return deps.temporal;
  };

  return {
    async githubPermission(input: { projectId: string; login: string }): Promise<{ allowed: boolean; permission: string; needed: string }> {
      const p = await project(input.projectId);
      const needed = resolveGitHubSettings(p.github).minPermission;
      const permission = await permissionOf(deps.github, repoOf(p), input.login);
      return { allowed: permits(permission, needed), permission, needed };
    },

    /**
     * One reply per marker (e.g. per delivery): a retried call edits instead of posting again.
     * `declined`: a reply to someone who may not ask, at most one per person and project in ten
     * minutes in this worker (ReplyThrottle); `replied: false` when this one was left out.
     */
    async replyOnIssue(input: { projectId: string; issueNumber: number; marker: string; body: string; declined?: string }): Promise<{ replied: boolean }> {
      const p = await project(input.projectId);
      const key = input.declined && `${input.projectId}:${input.declined.toLowerCase()}`;
      if (key && !declineReplies.reserve(key, input.marker, Date.now())) return { replied: false };
      try {
        await upsertMarkedComment(deps.github, repoOf(p), input.issueNumber, input.marker, `${input.marker}\n${input.body}`);
      } catch (err) {
        if (key) declineReplies.release(key, input.marker);
        throw err;
      }
      return { replied: true };
    },

    /** Files the issue as a report of the project (its fix starts now); idempotent per delivery. */
    async fileIssueFix(input: { projectId: string; trigger: IssueTrigger }): Promise<{ bugId: string; workflowId: string; workflowUrl: string }> {
      const p = await project(input.projectId);
      const t = input.trigger;
      const asked = t.comment ? `\n\n---\nAsked by @${t.requestedBy} in a comment:\n${t.comment}` : '';
      const filed = await fileBug(
        { prisma: deps.prisma, temporal: temporal(), temporalUiUrl: deps.temporalUiUrl },
        { id: p.id, key: p.key },
        {
          title: t.issueTitle.slice(0, 300).padEnd(3, '.'),
          description: `${t.issueBody || '(no description)'}${asked}`.slice(0, 50_000),
          priority: 'MEDIUM',
          reporter: `github:${t.requestedBy}`,
          source: 'github',
          externalId: `github:${t.repoFullName}#${t.issueNumber}@${t.deliveryId}`,
        },
        undefined,
        { githubIssueNumber: t.issueNumber },
      );
      return {
        bugId: filed.bugId,
        workflowId: filed.workflowId,
        workflowUrl: fixUiUrl({ temporal: temporal(), temporalUiUrl: deps.temporalUiUrl }, filed.workflowId),
      };
    },

    /**
     * Keeps the issue's status comment in step with the fix until the fix is closed: edits only
     * when what the comment shows changed (a retry re-reads the comment and edits only if it differs).
     */
    async keepIssueStatus(input: { projectId: string; issueNumber: number; bugId: string; workflowId: string; workflowUrl: string }): Promise<string> {
      const p = await project(input.projectId);
      const repo = repoOf(p);
      const marker = statusMarker(input.bugId);
      let shown = '';
      for (;;) {
        const status = (await queryStatus(temporal(), input.workflowId, 5000)) ?? undefined;
        const digest = statusDigest(status);
        if (digest !== shown) {
          await upsertMarkedComment(
            deps.github,
            repo,
            input.issueNumber,
            marker,
            statusCommentBody({ bugId: input.bugId, status, workflowUrl: input.workflowUrl }),
          );
          shown = digest;
        }
        if (status?.outcome) return status.outcome.status;
        const described = await temporal()
          .workflow.getHandle(input.workflowId)
          .describe()
          .catch(() => undefined);
        if (described && described.status.name !== 'RUNNING' && status) return described.status.name;
        await sleep(WATCH_EVERY_MS);
      }
    },
  };
}
