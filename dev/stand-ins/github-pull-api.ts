/**
 * The pull request review and check endpoints of the GitHub stand-in (dev/stand-ins/github-api.ts):
 * review comments (threads by in_reply_to_id, replies), reviews, check runs and their Actions job
 * logs (behind a redirect, as GitHub serves them), a workflow run's jobs. Real response shapes,
 * so Octokit's own methods and pagination run against them.
 */
import { execFileSync } from 'node:child_process';
import express, { Router } from 'express';

/** An inline review comment (GET /repos/{o}/{r}/pulls/{n}/comments), as stored. */
export interface StandInReviewComment {
  id: number;
  pull: number;
  reviewId: number | null;
  inReplyTo?: number;
  path: string;
  line: number;
  diffHunk: string;
  body: string;
  user: string;
  commitId: string;
  createdAt: string;
}

/** A check run (an Actions job when app is github-actions: its log is served under actions/jobs/{id}/logs). */
export interface StandInCheckRun {
  id: number;
  name: string;
  headSha: string;
  conclusion: 'success' | 'failure' | 'timed_out' | 'neutral';
  output: { title: string | null; summary: string | null; text: string | null };
  app: string;
  log?: string;
  /** the Actions workflow run this job belongs to */
  runId?: number;
  /** the check suite it belongs to (each app's runs on a commit form one) */
  suiteId?: number;
}

export interface StandInReview {
  id: number;
  pull: number;
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  body: string;
  commitId: string;
  submittedAt: string;
}

/** What the stand-in keeps per repository that these endpoints use. */
export interface PullRepo {
  bareDir: string;
  pulls: Array<{ number: number; head: string; state: 'open' | 'closed'; merged?: boolean }>;
  reviewComments: StandInReviewComment[];
  reviews: StandInReview[];
  checkRuns: StandInCheckRun[];
}

export interface PullRoutesContext {
  repo(owner: string, name: string): PullRepo | undefined;
  /** the stand-in's URL, once it listens */
  base(): string;
  botLogin: string;
  /** ids shared with issue comments, like GitHub's */
  nextCommentId(): number;
  branchSha(bareDir: string, branch: string): string | null;
}

export interface PullHelpers {
  /**
   * A person's review with inline comments on the PR's current head, as GitHub stores it; returns
   * the review and comments in GitHub's JSON (for the webhook payloads a test sends).
   */
  addReview(
    owner: string,
    name: string,
    pull: number,
    review: { user: string; state: StandInReview['state']; body?: string; comments: Array<{ path: string; line: number; body: string }> },
  ): { review: Record<string, unknown>; comments: Array<Record<string, unknown>> };
  /** the review comments of a PR (threads: inReplyTo links a reply to its first comment) */
  reviewComments(owner: string, name: string, pull: number): StandInReviewComment[];
  /** a completed check run on a commit; returns it in GitHub's JSON (for the check_run webhook) */
  addCheckRun(owner: string, name: string, run: Omit<StandInCheckRun, 'id'>): Record<string, unknown>;
  /** closes (or merges) a PR */
  closePull(owner: string, name: string, pull: number, merged: boolean): void;
}

/** A diff hunk like GitHub's for a comment on `line`: the lines above it as context (the file at `commit`). */
function diffHunk(bareDir: string, commit: string, file: string, line: number): string {
  let lines: string[] = [];
  try {
    lines = execFileSync('git', ['show', `${commit}:${file}`], { cwd: bareDir })
      .toString()
      .split('\n');
  } catch {
    // a path not in the commit: an empty hunk
  }
  const from = Math.max(1, line - 3);
  const shown = lines.slice(from - 1, line);
  return `@@ -${from},${shown.length} +${from},${shown.length} @@\n${shown.map((l) => ` ${l}`).join('\n')}`;
}

export function pullRoutes(ctx: PullRoutesContext): { router: Router; helpers: PullHelpers } {
  const router = Router();
  let checkRunIds = 9000;
  let reviewIds = 5000;

  const userJson = (login: string) => ({ login, type: login === ctx.botLogin || login === `${ctx.botLogin}[bot]` ? 'Bot' : 'User' });
  const reviewCommentJson = (owner: string, name: string, c: StandInReviewComment) => ({
    id: c.id,
    pull_request_review_id: c.reviewId,
    ...(c.inReplyTo ? { in_reply_to_id: c.inReplyTo } : {}),
    path: c.path,
    line: c.line,
    original_line: c.line,
    side: 'RIGHT',
    diff_hunk: c.diffHunk,
    body: c.body,
    user: userJson(c.user),
    commit_id: c.commitId,
    original_commit_id: c.commitId,
    created_at: c.createdAt,
    updated_at: c.createdAt,
    html_url: `${ctx.base()}/${owner}/${name}/pull/${c.pull}#discussion_r${c.id}`,
    pull_request_url: `${ctx.base()}/repos/${owner}/${name}/pulls/${c.pull}`,
  });
  const reviewJson = (owner: string, name: string, r: StandInReview) => ({
    id: r.id,
    user: userJson(r.user),
    body: r.body,
    state: r.state,
    commit_id: r.commitId,
    submitted_at: r.submittedAt,
    html_url: `${ctx.base()}/${owner}/${name}/pull/${r.pull}#pullrequestreview-${r.id}`,
  });
  /** Paged like GitHub: per_page (default 30, at most 100), page, and a Link header to the next. */
  const paged = <T>(req: express.Request, res: express.Response, all: T[]) => {
    const perPage = Math.min(100, Math.max(1, Number(req.query.per_page) || 30));
    const page = Math.max(1, Number(req.query.page) || 1);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const at = (n: number) => `<${ctx.base()}${req.path}?per_page=${perPage}&page=${n}>`;
    if (page < last) res.setHeader('link', `${at(page + 1)}; rel="next", ${at(last)}; rel="last"`);
    res.json(all.slice((page - 1) * perPage, page * perPage));
  };

  router.get('/repos/:owner/:repo/pulls/:number/comments', (req, res) => {
    const repo = ctx.repo(req.params.owner!, req.params.repo!);
    if (!repo) return void res.status(404).json({ message: 'Not Found' });
    const n = Number(req.params.number);
    paged(
      req,
      res,
      repo.reviewComments.filter((c) => c.pull === n).map((c) => reviewCommentJson(req.params.owner!, req.params.repo!, c)),
    );
  });

  router.get('/repos/:owner/:repo/pulls/:number/reviews', (req, res) => {
    const repo = ctx.repo(req.params.owner!, req.params.repo!);
    if (!repo) return void res.status(404).json({ message: 'Not Found' });
    const n = Number(req.params.number);
    paged(
      req,
      res,
      repo.reviews.filter((r) => r.pull === n).map((r) => reviewJson(req.params.owner!, req.params.repo!, r)),
    );
  });

  const checkRunJson = (owner: string, name: string, c: StandInCheckRun) => ({
    id: c.id,
    name: c.name,
    head_sha: c.headSha,
    status: 'completed',
    conclusion: c.conclusion,
    output: { ...c.output, annotations_count: 0 },
    app: { slug: c.app, name: c.app },
    check_suite: c.suiteId ? { id: c.suiteId } : null,
    html_url: `${ctx.base()}/${owner}/${name}/runs/${c.id}`,
    details_url: `${ctx.base()}/${owner}/${name}/actions/runs/1/job/${c.id}`,
  });

  router.get('/repos/:owner/:repo/check-runs/:id', (req, res) => {
    const repo = ctx.repo(req.params.owner!, req.params.repo!);
    if (!repo) return void res.status(404).json({ message: 'Not Found' });
    const c = repo.checkRuns.find((x) => x.id === Number(req.params.id));
    if (!c) return void res.status(404).json({ message: 'Not Found' });
    res.json(checkRunJson(req.params.owner!, req.params.repo!, c));
  });

  router.get('/repos/:owner/:repo/check-suites/:id/check-runs', (req, res) => {
    const repo = ctx.repo(req.params.owner!, req.params.repo!);
    if (!repo) return void res.status(404).json({ message: 'Not Found' });
    const runs = repo.checkRuns.filter((c) => c.suiteId === Number(req.params.id)).map((c) => checkRunJson(req.params.owner!, req.params.repo!, c));
    res.json({ total_count: runs.length, check_runs: runs });
  });

  router.get('/repos/:owner/:repo/actions/runs/:id/jobs', (req, res) => {
    const repo = ctx.repo(req.params.owner!, req.params.repo!);
    if (!repo) return void res.status(404).json({ message: 'Not Found' });
    const runId = Number(req.params.id);
    const jobs = repo.checkRuns
      .filter((c) => c.runId === runId)
      .map((c) => ({ id: c.id, run_id: runId, name: c.name, head_sha: c.headSha, status: 'completed', conclusion: c.conclusion }));
    res.json({ total_count: jobs.length, jobs });
  });

  // Like GitHub: a redirect to where the log lives (plain text), which clients follow.
  router.get('/repos/:owner/:repo/actions/jobs/:id/logs', (req, res) => {
    const repo = ctx.repo(req.params.owner!, req.params.repo!);
    if (!repo) return void res.status(404).json({ message: 'Not Found' });
    const c = repo.checkRuns.find((x) => x.id === Number(req.params.id) && x.app === 'github-actions');
    if (!c) return void res.status(404).json({ message: 'Not Found' });
    res.redirect(302, `${ctx.base()}/_logs/${req.params.owner}/${req.params.repo}/${c.id}`);
  });
  router.get('/_logs/:owner/:repo/:id', (req, res) => {
    const c = ctx.repo(req.params.owner!, req.params.repo!)?.checkRuns.find((x) => x.id === Number(req.params.id));
    if (!c) return void res.status(404).type('text/plain').send('Not Found');
    res.type('text/plain').send(c.log ?? '');
  });

  // GitHub answers a reply to a reply with 422: replies go to the thread's first comment.
  router.post('/repos/:owner/:repo/pulls/:number/comments/:id/replies', (req, res) => {
    const repo = ctx.repo(req.params.owner!, req.params.repo!);
    if (!repo) return void res.status(404).json({ message: 'Not Found' });
    const n = Number(req.params.number);
    const parent = repo.reviewComments.find((c) => c.id === Number(req.params.id) && c.pull === n);
    if (!parent) return void res.status(404).json({ message: 'Not Found' });
    const body = String((req.body as { body?: string }).body ?? '');
    if (!body)
      return void res
        .status(422)
        .json({ message: 'Validation Failed', errors: [{ resource: 'PullRequestReviewComment', field: 'body', code: 'missing_field' }] });
    const reply: StandInReviewComment = {
      ...parent,
      id: ctx.nextCommentId(),
      reviewId: null,
      inReplyTo: parent.inReplyTo ?? parent.id,
      body,
      user: ctx.botLogin,
      createdAt: new Date().toISOString(),
    };
    repo.reviewComments.push(reply);
    res.status(201).json(reviewCommentJson(req.params.owner!, req.params.repo!, reply));
  });

  const helpers: PullHelpers = {
    addReview: (owner, name, pull, r) => {
      const repo = ctx.repo(owner, name)!;
      const p = repo.pulls.find((x) => x.number === pull)!;
      const commitId = ctx.branchSha(repo.bareDir, p.head) ?? '';
      const at = new Date().toISOString();
      const review: StandInReview = { id: ++reviewIds, pull, user: r.user, state: r.state, body: r.body ?? '', commitId, submittedAt: at };
      repo.reviews.push(review);
      const comments = r.comments.map((c) => {
        const comment: StandInReviewComment = {
          id: ctx.nextCommentId(),
          pull,
          reviewId: review.id,
          ...c,
          diffHunk: diffHunk(repo.bareDir, commitId, c.path, c.line),
          user: r.user,
          commitId,
          createdAt: at,
        };
        repo.reviewComments.push(comment);
        return reviewCommentJson(owner, name, comment);
      });
      return { review: reviewJson(owner, name, review), comments };
    },
    reviewComments: (owner, name, pull) => (ctx.repo(owner, name)?.reviewComments ?? []).filter((c) => c.pull === pull),
    addCheckRun: (owner, name, run) => {
      const c = { ...run, id: ++checkRunIds };
      ctx.repo(owner, name)!.checkRuns.push(c);
      return checkRunJson(owner, name, c);
    },
    closePull: (owner, name, pull, merged) => {
      const p = ctx.repo(owner, name)!.pulls.find((x) => x.number === pull)!;
      p.state = 'closed';
      p.merged = merged;
    },
  };
  return { router, helpers };
}
