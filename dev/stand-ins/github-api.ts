/**
 * HTTP stand-in of the GitHub REST endpoints the product uses (repos, pulls), backed by real bare
 * git repositories on the local disk: a PR can only be opened for a branch that was really pushed.
 * Forks are bare clones next to their parent; a fork answers 404 for a first poll or two, the way
 * GitHub's asynchronous fork creation does.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import express from 'express';
import { listen, type Listening } from './listen.js';
import { pullRoutes, type PullHelpers, type StandInCheckRun, type StandInReview, type StandInReviewComment } from './github-pull-api.js';

import { credentials, faultInjector, type Fault, type StandInApp } from './github-auth-faults.js';
import { issueRoutes, type IssueHelpers, type StandInComment } from './github-issues-api.js';

export type { StandInCheckRun, StandInReview, StandInReviewComment } from './github-pull-api.js';
export type { StandInComment } from './github-issues-api.js';
export type { Fault, StandInApp } from './github-auth-faults.js';

export interface StandInPull {
  number: number;
  title: string;
  body: string;
  head: string;
  /** the account whose repository holds the head branch: the base repository's owner or a fork's */
  headOwner: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged?: boolean;
}

/** Issues: IssueHelpers (github-issues-api.ts); reviews, review threads and check runs: PullHelpers (github-pull-api.ts). */
export interface GitHubStandIn extends Listening, PullHelpers, IssueHelpers {
  addRepo(owner: string, name: string, bareDir: string, defaultBranch?: string): void;
  pulls(owner: string, name: string): StandInPull[];
  /** where a repository (a fork included) lives on disk, if the stand-in has it */
  bareDir(owner: string, name: string): string | undefined;
  requests: Array<{ method: string; path: string; status: number; authorization?: string }>;
  /** The next `count` requests to paths matching `pathPart` fail with `status`. */
  failNext(pathPart: string, status: number, count?: number): void;
  /** The next request matching the fault's path (and method) gets the fault. */
  fault(f: Fault): void;
  /** requests held by a `holdMs` fault right now */
  held(): number;
}

function branchSha(bareDir: string, branch: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '-q', `refs/heads/${branch}`], { cwd: bareDir })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

/** Where a repository the stand-in was not told about lives, if anywhere (local mode: the projects' own remotes). */
export type RepoResolver = (owner: string, name: string) => Promise<{ bareDir: string; defaultBranch: string } | undefined>;

interface StandInRepo {
  bareDir: string;
  defaultBranch: string;
  pulls: StandInPull[];
  labels: Map<number, string[]>;
  comments: Map<number, StandInComment[]>;
  permissions: Map<string, string>;
  reviewComments: StandInReviewComment[];
  reviews: StandInReview[];
  checkRuns: StandInCheckRun[];
  /** owner/name of the repository this one is a fork of */
  parent?: string;
  /** polls a new fork still answers 404 to */
  pendingPolls?: number;
}

const newRepo = (bareDir: string, defaultBranch: string, parent?: string): StandInRepo => ({
  bareDir,
  defaultBranch,
  parent,
  pulls: [],
  labels: new Map(),
  comments: new Map(),
  permissions: new Map(),
  reviewComments: [],
  reviews: [],
  checkRuns: [],
});

export async function startGitHubStandIn(
  opts: {
    token?: string;
    app?: StandInApp;
    port?: number;
    resolveRepo?: RepoResolver;
    botLogin?: string;
    /** polls a newly created fork answers 404 to before it appears (default 1) */
    forkPendingPolls?: number;
  } = {},
): Promise<GitHubStandIn> {
  const repos = new Map<string, StandInRepo>();
  const requests: GitHubStandIn['requests'] = [];
  let commentIds = 1000;
  /** whoever the stand-in's token belongs to (GitHub answers with the bot's login) */
  const botLogin = opts.botLogin ?? 'bugfix-bot';
  const faults = faultInjector();
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  let base = '';

  // Every request is logged with its answer; then credentials, then any injected fault.
  app.use((req, res, next) => {
    res.on('finish', () => requests.push({ method: req.method, path: req.path, status: res.statusCode, authorization: req.header('authorization') }));
    next();
  });
  app.use(credentials(opts));
  app.use(faults.middleware);

  // A repository added since start (a project created through the admin API) is looked up on first use.
  app.use('/repos/:owner/:repo', async (req, _res, next) => {
    const key = `${req.params.owner}/${req.params.repo}`;
    if (!repos.has(key) && opts.resolveRepo) {
      const found = await opts.resolveRepo(req.params.owner!, req.params.repo!).catch(() => undefined);
      if (found && !repos.has(key)) repos.set(key, newRepo(found.bareDir, found.defaultBranch));
    }
    next();
  });

  const repoOf = (req: express.Request, res: express.Response) => {
    const repo = repos.get(`${req.params.owner}/${req.params.repo}`);
    if (!repo || (repo.pendingPolls ?? 0) > 0) res.status(404).json({ message: 'Not Found' });
    return repo && !repo.pendingPolls ? repo : undefined;
  };
  /** The repository a PR's head lives in: the base itself, or the head owner's fork of it. */
  const headEntryOf = (baseKey: string, headOwner: string, headRepoName?: string): [string, StandInRepo] | undefined => {
    const [baseOwner] = baseKey.split('/');
    const own = repos.get(baseKey);
    if (headOwner.toLowerCase() === baseOwner!.toLowerCase()) return own && [baseKey, own];
    return [...repos.entries()].find(
      ([key, r]) =>
        r.parent === baseKey && key.split('/')[0]!.toLowerCase() === headOwner.toLowerCase() && (!headRepoName || key.split('/')[1] === headRepoName),
    );
  };
  const headRepoOf = (baseKey: string, headOwner: string, headRepoName?: string) => headEntryOf(baseKey, headOwner, headRepoName)?.[1];
  const repoJson = (key: string, repo: StandInRepo): Record<string, unknown> => {
    const [owner, name] = key.split('/') as [string, string];
    return {
      name,
      full_name: key,
      owner: { login: owner },
      default_branch: repo.defaultBranch,
      private: true,
      html_url: `${base}/${key}`,
      // Where git reaches it: the bare repository on disk.
      clone_url: repo.bareDir,
      fork: Boolean(repo.parent),
      ...(repo.parent ? { parent: repoJson(repo.parent, repos.get(repo.parent)!), source: repoJson(repo.parent, repos.get(repo.parent)!) } : {}),
    };
  };
  const pullJson = (owner: string, name: string, p: StandInPull) => {
    const [headKey, headRepo] = headEntryOf(`${owner}/${name}`, p.headOwner) ?? [];
    return {
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      draft: p.draft,
      merged: !!p.merged,
      html_url: `${base}/${owner}/${name}/pull/${p.number}`,
      url: `${base}/repos/${owner}/${name}/pulls/${p.number}`,
      head: {
        ref: p.head,
        sha: headRepo ? branchSha(headRepo.bareDir, p.head) : null,
        label: `${p.headOwner}:${p.head}`,
        repo: headRepo ? repoJson(headKey!, headRepo) : null,
      },
      base: { ref: p.base, label: `${owner}:${p.base}` },
    };
  };

  app.get('/user', (_req, res) => void res.json({ login: botLogin, type: 'User' }));

  app.get('/repos/:owner/:repo', (req, res) => {
    const key = `${req.params.owner}/${req.params.repo}`;
    const pending = repos.get(key)?.pendingPolls;
    const repo = repoOf(req, res);
    if (pending) repos.get(key)!.pendingPolls = pending - 1;
    if (!repo) return;
    res.json(repoJson(key, repo));
  });

  // Like GitHub: into the credential's account or the organization named; an existing fork is
  // answered again; the new one answers 404 for a while (asynchronous creation).
  app.post('/repos/:owner/:repo/forks', (req, res) => {
    const parent = repoOf(req, res);
    if (!parent) return;
    const parentKey = `${req.params.owner}/${req.params.repo}`;
    const { organization, default_branch_only } = req.body as { organization?: string; default_branch_only?: boolean };
    const owner = organization ?? botLogin;
    const existing = [...repos.entries()].find(([key, r]) => r.parent === parentKey && key.split('/')[0] === owner);
    if (existing) return void res.status(202).json(repoJson(existing[0], existing[1]));
    let name = req.params.repo;
    while (repos.has(`${owner}/${name}`)) name = `${name}-1`;
    const bareDir = path.join(path.dirname(parent.bareDir), `${path.basename(parent.bareDir, '.git')}.fork-${owner}-${name}.git`);
    const only = default_branch_only ? ['--single-branch', '--branch', parent.defaultBranch] : [];
    execFileSync('git', ['clone', '-q', '--bare', ...only, parent.bareDir, bareDir], { stdio: 'pipe' });
    const fork = { ...newRepo(bareDir, parent.defaultBranch, parentKey), pendingPolls: opts.forkPendingPolls ?? 1 };
    repos.set(`${owner}/${name}`, fork);
    res.status(202).json(repoJson(`${owner}/${name}`, { ...fork, pendingPolls: 0 }));
  });

  app.get('/repos/:owner/:repo/pulls', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const { owner, repo: name } = req.params;
    // `owner:branch`, as GitHub reads it: a fork's branch is not the base repository's same-named one.
    const [headOwner, head] =
      typeof req.query.head === 'string' ? (req.query.head.includes(':') ? req.query.head.split(':', 2) : [undefined, req.query.head]) : [];
    const state = (req.query.state as string | undefined) ?? 'open';
    const list = repo.pulls.filter(
      (p) => (state === 'all' || p.state === state) && (!head || p.head === head) && (!headOwner || p.headOwner.toLowerCase() === headOwner.toLowerCase()),
    );
    res.json(list.map((p) => pullJson(owner, name, p)));
  });

  app.post('/repos/:owner/:repo/pulls', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const { owner, repo: name } = req.params;
    const { head, head_repo, base: baseRef, title, body, draft } = req.body as Record<string, unknown>;
    const headRef = String(head ?? '').replace(/^[^:]+:/, '');
    const headOwner = String(head ?? '').includes(':') ? String(head).split(':')[0]! : owner;
    if (!title || !headRef || !baseRef)
      return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'missing_field' }] });
    const headRepo = headRepoOf(`${owner}/${name}`, headOwner, typeof head_repo === 'string' ? head_repo : undefined);
    if (!headRepo || !branchSha(headRepo.bareDir, headRef)) {
      return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
    }
    if (repo.pulls.some((p) => p.head === headRef && p.headOwner === headOwner && p.state === 'open')) {
      return void res.status(422).json({
        message: 'Validation Failed',
        errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${headOwner}:${headRef}.` }],
      });
    }
    const pull: StandInPull = {
      number: repo.pulls.length + 1,
      title: String(title),
      body: String(body ?? ''),
      head: headRef,
      headOwner,
      base: String(baseRef),
      draft: Boolean(draft),
      state: 'open',
    };
    repo.pulls.push(pull);
    res.status(201).json(pullJson(owner, name, pull));
  });

  // Labels, issue comments and collaborator permissions (dev/stand-ins/github-issues-api.ts).
  const issueApi = issueRoutes({ repo: (owner, name) => repos.get(`${owner}/${name}`), base: () => base, botLogin, nextCommentId: () => ++commentIds });
  app.use(issueApi.router);

  app.get('/repos/:owner/:repo/pulls/:number', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const p = repo.pulls.find((x) => x.number === Number(req.params.number));
    if (!p) return void res.status(404).json({ message: 'Not Found' });
    res.json(pullJson(req.params.owner, req.params.repo, p));
  });

  // Reviews, review threads and check runs (dev/stand-ins/github-pull-api.ts).
  const pullApi = pullRoutes({
    repo: (owner, name) => repos.get(`${owner}/${name}`),
    base: () => base,
    botLogin,
    nextCommentId: () => ++commentIds,
    branchSha,
  });
  app.use(pullApi.router);

  app.use((_req, res) => void res.status(404).json({ message: 'Not Found (stand-in does not serve this endpoint)' }));

  const server = await listen(app, opts.port ?? 0);
  base = server.url;
  return {
    ...server,
    requests,
    addRepo: (owner, name, bareDir, defaultBranch = 'main') => void repos.set(`${owner}/${name}`, newRepo(bareDir, defaultBranch)),
    bareDir: (owner, name) => repos.get(`${owner}/${name}`)?.bareDir,
    pulls: (owner, name) => repos.get(`${owner}/${name}`)?.pulls ?? [],
    ...issueApi.helpers,
    ...pullApi.helpers,
    failNext: (pathPart, status, count = 1) => {
      for (let i = 0; i < count; i++) faults.add({ pathPart, status });
    },
    fault: (f) => faults.add(f),
    held: () => faults.held(),
  };
}
