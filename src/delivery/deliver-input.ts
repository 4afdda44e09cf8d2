/** What delivery is asked to do (DeliverInput, from the workflow) and what it works with. */
import type Docker from 'dockerode';
import type { ScopeLimits } from '../domain/agent/scope.js';
import type { PrismaClient } from '../db/prisma.js';
import type { GitHubClient } from '../infra/github.js';

export interface DeliverInput {
  workflowId: string;
  containerId: string;
  baseSha: string;
  branch: string;
  commitMessage: string;
  repoOwner: string;
  repoName: string;
  cloneUrl: string;
  defaultBranch: string;
  prTitle: string;
  prBody: string;
  draft?: boolean;
  labels?: string[];
  scopeLimits?: ScopeLimits;
  /** the GitHub issue the report came from: it gets a comment linking the PR */
  githubIssueNumber?: number | null;
  bugId: string;
  projectId: string;
  /** the branch the base commit is fetched from (a follow-up round: the PR branch); default defaultBranch */
  baseBranch?: string;
  /** a follow-up round: push onto the PR's branch (fast-forward only), open no PR, record the commit on the round */
  followUp?: { prNumber: number };
}

export interface DeliverDeps {
  prisma: PrismaClient;
  docker: Docker;
  github: GitHubClient;
  /** the host's git credential (token or GitHub App installation token) */
  gitToken?: () => Promise<string | undefined>;
  workDir: string;
  /** author and committer of the pushed commit (COMMIT_AUTHOR_NAME / COMMIT_AUTHOR_EMAIL) */
  commitIdentity?: { name: string; email: string };
}
