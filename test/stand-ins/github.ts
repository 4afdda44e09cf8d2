/**
 * HTTP stand-in of the GitHub REST endpoints the product uses (repos, pulls), backed by real bare
 * git repositories on the local disk: a PR can only be opened for a branch that was really pushed.
 */
import { execFileSync } from 'node:child_process';
import express from 'express';
import { listen, type Listening } from './listen.js';

export interface StandInPull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
}

export interface GitHubStandIn extends Listening {
  addRepo(owner: string, name: string, bareDir: string, defaultBranch?: string): void;
  pulls(owner: string, name: string): StandInPull[];
  requests: Array<{ method: string; path: string; status: number }>;
  /** The next `count` requests to paths matching `pathPart` fail with `status`. */
  failNext(pathPart: string, status: number, count?: number): void;
}

function branchSha(bareDir: string, branch: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '-q', `refs/heads/${branch}`], { cwd: bareDir }).toString().trim();
  } catch {
    return null;
  }
}

export async function startGitHubStandIn(opts: { token?: string; port?: number } = {}): Promise<GitHubStandIn> {
  const repos = new Map<string, { bareDir: string; defaultBranch: string; pulls: StandInPull[] }>();
  const requests: GitHubStandIn['requests'] = [];
  const failures: Array<{ pathPart: string; status: number }> = [];
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  let base = '';

  app.use((req, res, next) => {
    res.on('finish', () => requests.push({ method: req.method, path: req.path, status: res.statusCode }));
    if (opts.token && req.header('authorization') !== `token ${opts.token}` && req.header('authorization') !== `Bearer ${opts.token}`) {
      return void res.status(401).json({ message: 'Bad credentials' });
    }
    const i = failures.findIndex((f) => req.path.includes(f.pathPart));
    if (i >= 0) {
      const [f] = failures.splice(i, 1);
      return void res.status(f!.status).json({ message: `stand-in injected ${f!.status}` });
    }
    next();
  });

  const repoOf = (req: express.Request, res: express.Response) => {
    const repo = repos.get(`${req.params.owner}/${req.params.repo}`);
    if (!repo) res.status(404).json({ message: 'Not Found' });
    return repo;
  };
  const pullJson = (owner: string, name: string, p: StandInPull, bareDir: string) => ({
    number: p.number,
    state: p.state,
    title: p.title,
    body: p.body,
    draft: p.draft,
    html_url: `${base}/${owner}/${name}/pull/${p.number}`,
    url: `${base}/repos/${owner}/${name}/pulls/${p.number}`,
    head: { ref: p.head, sha: branchSha(bareDir, p.head), label: `${owner}:${p.head}` },
    base: { ref: p.base, label: `${owner}:${p.base}` },
  });

  app.get('/repos/:owner/:repo', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const { owner, repo: name } = req.params;
    res.json({ name, full_name: `${owner}/${name}`, owner: { login: owner }, default_branch: repo.defaultBranch, private: true, html_url: `${base}/${owner}/${name}` });
  });

  app.get('/repos/:owner/:repo/pulls', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const { owner, repo: name } = req.params;
    const head = typeof req.query.head === 'string' ? req.query.head.replace(/^[^:]+:/, '') : undefined;
    const state = (req.query.state as string | undefined) ?? 'open';
    const list = repo.pulls.filter((p) => (state === 'all' || p.state === state) && (!head || p.head === head));
    res.json(list.map((p) => pullJson(owner, name, p, repo.bareDir)));
  });

  app.post('/repos/:owner/:repo/pulls', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const { owner, repo: name } = req.params;
    const { head, base: baseRef, title, body, draft } = req.body as Record<string, unknown>;
    const headRef = String(head ?? '').replace(/^[^:]+:/, '');
    if (!title || !headRef || !baseRef) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'missing_field' }] });
    if (!branchSha(repo.bareDir, headRef)) {
      return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
    }
    if (repo.pulls.some((p) => p.head === headRef && p.state === 'open')) {
      return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${headRef}.` }] });
    }
    const pull: StandInPull = { number: repo.pulls.length + 1, title: String(title), body: String(body ?? ''), head: headRef, base: String(baseRef), draft: Boolean(draft), state: 'open' };
    repo.pulls.push(pull);
    res.status(201).json(pullJson(owner, name, pull, repo.bareDir));
  });

  app.get('/repos/:owner/:repo/pulls/:number', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const p = repo.pulls.find((x) => x.number === Number(req.params.number));
    if (!p) return void res.status(404).json({ message: 'Not Found' });
    res.json(pullJson(req.params.owner, req.params.repo, p, repo.bareDir));
  });

  app.use((_req, res) => void res.status(404).json({ message: 'Not Found (stand-in does not serve this endpoint)' }));

  const server = await listen(app, opts.port ?? 0);
  base = server.url;
  return {
    ...server,
    requests,
    addRepo: (owner, name, bareDir, defaultBranch = 'main') => void repos.set(`${owner}/${name}`, { bareDir, defaultBranch, pulls: [] }),
    pulls: (owner, name) => repos.get(`${owner}/${name}`)?.pulls ?? [],
    failNext: (pathPart, status, count = 1) => {
      for (let i = 0; i < count; i++) failures.push({ pathPart, status });
    },
  };
}
