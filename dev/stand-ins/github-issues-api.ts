/**
 * The GitHub stand-in's issue endpoints: labels, issue comments (paged, editable) and collaborator
 * permissions, with the helpers tests read them through. Mounted by github-api.ts.
 */
import express from 'express';

export interface StandInComment {
  id: number;
  body: string;
  user: string;
}

/** What the stand-in keeps per repository that these endpoints use. */
export interface IssueRepo {
  labels: Map<number, string[]>;
  comments: Map<number, StandInComment[]>;
  permissions: Map<string, string>;
}

export interface IssueRoutesContext {
  repo(owner: string, name: string): IssueRepo | undefined;
  /** the stand-in's URL, once it listens */
  base(): string;
  botLogin: string;
  /** ids shared with review comments, like GitHub's */
  nextCommentId(): number;
}

export interface IssueHelpers {
  labels(owner: string, name: string, issue: number): string[];
  comments(owner: string, name: string, issue: number): string[];
  /** comments already on an issue (someone else's, or an earlier attempt's) */
  addComment(owner: string, name: string, issue: number, body: string): void;
  /** comments with their ids and authors, and how often each was edited */
  commentRecords(owner: string, name: string, issue: number): Array<StandInComment & { edits: number }>;
  /** a person's role on the repository (admin, maintain, write, triage, read); others have none */
  setPermission(owner: string, name: string, login: string, role: string): void;
}

export function issueRoutes(ctx: IssueRoutesContext): { router: express.Router; helpers: IssueHelpers } {
  const router = express.Router();
  const edits = new Map<number, number>();
  const { botLogin } = ctx;
  const repoOf = (req: express.Request, res: express.Response) => {
    const repo = ctx.repo(String(req.params.owner), String(req.params.repo));
    if (!repo) res.status(404).json({ message: 'Not Found' });
    return repo;
  };
  const commentJson = (c: StandInComment) => ({ id: c.id, body: c.body, user: { login: c.user, type: c.user === botLogin ? 'Bot' : 'User' } });

  router.post('/repos/:owner/:repo/issues/:number/labels', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const n = Number(req.params.number);
    const added = ((req.body as { labels?: string[] }).labels ?? []).map(String);
    const now = [...new Set([...(repo.labels.get(n) ?? []), ...added])];
    repo.labels.set(n, now);
    res.json(now.map((name) => ({ name })));
  });

  // Paged like GitHub: per_page (default 30, at most 100), page, and a Link header to the next.
  router.get('/repos/:owner/:repo/issues/:number/comments', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const all = (repo.comments.get(Number(req.params.number)) ?? []).map(commentJson);
    const perPage = Math.min(100, Math.max(1, Number(req.query.per_page) || 30));
    const page = Math.max(1, Number(req.query.page) || 1);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const at = (n: number) => `<${ctx.base()}${req.baseUrl}${req.path}?per_page=${perPage}&page=${n}>`;
    if (page < last) res.setHeader('link', `${at(page + 1)}; rel="next", ${at(last)}; rel="last"`);
    res.json(all.slice((page - 1) * perPage, page * perPage));
  });

  router.post('/repos/:owner/:repo/issues/:number/comments', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const n = Number(req.params.number);
    const list = repo.comments.get(n) ?? [];
    const comment = { id: ctx.nextCommentId(), body: String((req.body as { body?: string }).body ?? ''), user: botLogin };
    list.push(comment);
    repo.comments.set(n, list);
    res.status(201).json(commentJson(comment));
  });

  router.patch('/repos/:owner/:repo/issues/comments/:id', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const id = Number(req.params.id);
    const comment = [...repo.comments.values()].flat().find((c) => c.id === id);
    if (!comment) return void res.status(404).json({ message: 'Not Found' });
    comment.body = String((req.body as { body?: string }).body ?? '');
    edits.set(id, (edits.get(id) ?? 0) + 1);
    res.json(commentJson(comment));
  });

  // What GitHub answers for a collaborator, and 404 for someone who is not one.
  router.get('/repos/:owner/:repo/collaborators/:user/permission', (req, res) => {
    const repo = repoOf(req, res);
    if (!repo) return;
    const role = repo.permissions.get(req.params.user.toLowerCase());
    if (!role) return void res.status(404).json({ message: `${req.params.user} is not a user` });
    const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
    res.json({ permission, role_name: role, user: { login: req.params.user, type: 'User' } });
  });

  const repoAt = (owner: string, name: string) => ctx.repo(owner, name);
  const helpers: IssueHelpers = {
    labels: (owner, name, issue) => repoAt(owner, name)?.labels.get(issue) ?? [],
    comments: (owner, name, issue) => (repoAt(owner, name)?.comments.get(issue) ?? []).map((c) => c.body),
    commentRecords: (owner, name, issue) => (repoAt(owner, name)?.comments.get(issue) ?? []).map((c) => ({ ...c, edits: edits.get(c.id) ?? 0 })),
    addComment: (owner, name, issue, body) => {
      const repo = repoAt(owner, name)!;
      repo.comments.set(issue, [...(repo.comments.get(issue) ?? []), { id: ctx.nextCommentId(), body, user: 'someone' }]);
    },
    setPermission: (owner, name, login, role) => void repoAt(owner, name)!.permissions.set(login.toLowerCase(), role),
  };
  return { router, helpers };
}
