/**
 * Host git against a project's cloneUrl, which an admin-API user sets: the real git binary asks
 * the credential helper for the GitHub origin only, and the transports it may use are
 * configuration (GIT_ALLOW_PROTOCOL), enforced by git itself — except the bundle file delivery
 * wrote and says it fetches.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import { githubWebUrl, loadConfig } from '../../src/config.js';
import { cloneUrlProblem, git, hostGitEnv, hostGitPolicy } from '../../src/infra/git.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-host-git-'));
const TOKEN = 'ghs_the-worker-token';

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

/** What `git credential fill` answers for a URL, with exactly the environment host git gets. */
function credentialFor(githubApiUrl: string, url: string): { exitCode: number | null; stdout: string } {
  const u = new URL(url);
  const env = {
    ...hostGitEnv(hostGitPolicy(loadConfig({ GITHUB_API_URL: githubApiUrl })), TOKEN),
    // No helper of the machine's own git configuration may answer in its place.
    HOME: tmp,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
  const input = `protocol=${u.protocol.slice(0, -1)}\nhost=${u.host}\npath=${u.pathname.slice(1)}\n\n`;
  const r = spawnSync('git', ['credential', 'fill'], { env, input, encoding: 'utf8' });
  return { exitCode: r.status, stdout: r.stdout };
}

describe('the credential helper', () => {
  test('answers GitHub, never another host a cloneUrl names', () => {
    const github = credentialFor('https://api.github.com', 'https://github.com/acme/shop.git');
    expect(github.exitCode).toBe(0);
    expect(github.stdout).toContain(`password=${TOKEN}`);
    for (const elsewhere of ['https://attacker.example/r.git', 'https://github.com.attacker.example/r.git', 'http://github.com/acme/shop.git']) {
      const r = credentialFor('https://api.github.com', elsewhere);
      expect(r.stdout, elsewhere).not.toContain(TOKEN);
      expect(r.exitCode, elsewhere).not.toBe(0);
    }
  });

  test('follows GITHUB_API_URL to GitHub Enterprise', () => {
    expect(credentialFor('https://ghe.corp.example/api/v3', 'https://ghe.corp.example/acme/shop.git').stdout).toContain(`password=${TOKEN}`);
    expect(credentialFor('https://ghe.corp.example/api/v3', 'https://github.com/acme/shop.git').stdout).not.toContain(TOKEN);
  });

  test('GitHub web origin from the API URL', () => {
    expect(githubWebUrl('https://api.github.com')).toBe('https://github.com');
    expect(githubWebUrl('https://api.github.com/')).toBe('https://github.com');
    expect(githubWebUrl('https://api.octocorp.ghe.com')).toBe('https://octocorp.ghe.com');
    expect(githubWebUrl('https://ghe.corp.example/api/v3')).toBe('https://ghe.corp.example');
    expect(githubWebUrl('http://127.0.0.1:4010')).toBe('http://127.0.0.1:4010');
  });
});

describe('transports', () => {
  const bare = createBareRemote('pagination', path.join(tmp, 'remote.git'));

  test('the product default (https) refuses host paths, file:// and ssh; configuration can allow file', async () => {
    // Unset, so that git itself finds no restriction of its own in the environment.
    vi.stubEnv('GIT_ALLOW_PROTOCOL', undefined);
    expect(loadConfig().GIT_ALLOW_PROTOCOL).toBe('https');
    await expect(git(['ls-remote', '--', bare])).rejects.toThrow(/transport 'file' not allowed/);
    await expect(git(['clone', '-q', '--', `file://${bare}`, path.join(tmp, 'copy')])).rejects.toThrow(/transport 'file' not allowed/);
    await expect(git(['ls-remote', '--', 'ssh://git@127.0.0.1:1/r.git'])).rejects.toThrow(/transport 'ssh' not allowed/);
    await expect(git(['ls-remote', '--', 'git@127.0.0.1:r.git'])).rejects.toThrow(/transport 'ssh' not allowed/);
    expect(fs.existsSync(path.join(tmp, 'copy'))).toBe(false);

    vi.stubEnv('GIT_ALLOW_PROTOCOL', 'file:https');
    expect(await git(['ls-remote', '--', bare, 'refs/heads/main'])).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main\n$/);
  });

  test('delivery still fetches the bundle it wrote; without saying so, a local source is refused', async () => {
    vi.stubEnv('GIT_ALLOW_PROTOCOL', undefined);
    const dir = path.join(tmp, 'deliver');
    await git(['init', '-q', '--bare', dir]);
    const bundlePath = path.join(tmp, 'fix.bundle');
    execFileSync('git', ['bundle', 'create', '-q', bundlePath, 'main'], { cwd: bare });
    await expect(git(['fetch', '-q', '--', bundlePath, 'main:refs/heads/fix/bug-0'], { cwd: dir })).rejects.toThrow(/transport 'file' not allowed/);
    await git(['fetch', '-q', '--', bundlePath, 'main:refs/heads/fix/bug-1'], { cwd: dir, fromOwnFiles: true });
    expect((await git(['rev-parse', 'refs/heads/fix/bug-1'], { cwd: dir })).trim()).toBe((await git(['rev-parse', 'main'], { cwd: bare })).trim());
    await expect(git(['fetch', '-q', '--', bare, 'main:refs/heads/other'], { cwd: dir })).rejects.toThrow(/transport 'file' not allowed/);
  });

  test('clone URLs are checked the way git classifies them', () => {
    const allowed = (url: string, protocols = 'https') => cloneUrlProblem(url, protocols) === null;
    expect(allowed('https://github.com/acme/shop.git')).toBe(true);
    expect(allowed('https://user:pw@git.example.com/acme/shop.git')).toBe(true);
    for (const url of [
      '/srv/repo.git',
      'repo.git',
      './repo',
      'file:///srv/repo.git',
      'ssh://git@github.com/a/b.git',
      'git+ssh://h/r',
      'git@github.com:a/b.git',
      'git://h/r',
      'http://h/r',
      'ext::sh -c id',
    ]) {
      expect(allowed(url), url).toBe(false);
    }
    expect(cloneUrlProblem('https://exa mple.com/r', 'https')).toBe('not a valid URL');
    expect(allowed('/srv/repo.git', 'file:https')).toBe(true);
    expect(allowed('file:///srv/repo.git', 'file:https')).toBe(true);
    expect(allowed('git@github.com:a/b.git', 'file:https')).toBe(false);
  });
});

describe("host git's environment", () => {
  test("holds what git needs, not the worker's secrets", async () => {
    vi.stubEnv('DATABASE_URL', 'postgresql://bugfix:db-secret@127.0.0.1/bugfix');
    vi.stubEnv('ANTHROPIC_API_KEY', 'sk-ant-model-secret');
    vi.stubEnv('BUGFIX_PAYLOAD_KEYS', 'k:payload-secret');
    // What any command git runs (a hook, a filter, a credential helper, an alias) sees.
    const seen = await git(['-c', 'alias.probe=!env', 'probe'], { cwd: tmp, token: TOKEN });
    expect(seen).not.toMatch(/db-secret|model-secret|payload-secret/);
    expect(seen).toMatch(/^PATH=/m);
    expect(seen).toMatch(/^GIT_ALLOW_PROTOCOL=/m);
    // The token only for the credential helper, and only when the command needs one.
    expect(await git(['-c', 'alias.probe=!env', 'probe'], { cwd: tmp })).not.toContain(TOKEN);
  });
});
