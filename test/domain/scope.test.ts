import { describe, expect, test } from 'vitest';
import { checkCommand, checkWrite, matchForbidden, scopeViolations, DEFAULT_FORBIDDEN_PATHS } from '../../src/domain/agent/scope.js';
import { parseSandboxSettings, sandboxLimitsFor, DEFAULT_SANDBOX_LIMITS } from '../../src/domain/fix/sandbox-settings.js';
import { scopeLimitsSchema } from '../../src/projects/project-settings.js';

describe('scope limits', () => {
  test('default forbidden paths match at any depth; ordinary files do not', () => {
    for (const p of [
      '.env',
      'app/.env',
      '.env.production',
      'certs/a.pem',
      'k/server.key',
      'id_rsa',
      'home/id_rsa.pub',
      'secrets/x',
      'a/secrets/b/c',
      'package-lock.json',
      'web/yarn.lock',
      'pnpm-lock.yaml',
      '.git/config',
      '.git',
      '.github/workflows/ci.yml',
      '.github/actions/setup/action.yml',
      '.github/CODEOWNERS',
      '.github',
      '.gitlab-ci.yml',
      '.circleci/config.yml',
      '.buildkite/pipeline.yml',
      'Jenkinsfile',
      'ci/Jenkinsfile',
      'azure-pipelines.yml',
      '.travis.yml',
    ]) {
      expect(matchForbidden(p, DEFAULT_FORBIDDEN_PATHS), p).toBeDefined();
    }
    for (const p of [
      'src/env.ts',
      'environment.md',
      'src/keys.ts',
      'docs/secrets.md',
      'package.json',
      'lock.json',
      '.gitignore',
      'docs/github.md',
      'src/ci.yml',
      'Jenkinsfile.md',
    ]) {
      expect(matchForbidden(p, DEFAULT_FORBIDDEN_PATHS), p).toBeUndefined();
    }
  });

  test('project patterns add to the defaults; size is limited', () => {
    expect(checkWrite('generated/a/b.ts', 1, { forbiddenPaths: ['generated/**'] })).toMatchObject({ ok: false });
    expect(checkWrite('/dist/x.js', 1, { forbiddenPaths: ['/dist/**'] })).toMatchObject({ ok: true });
    expect(checkWrite('dist/x.js', 1, { forbiddenPaths: ['/dist/**'] })).toMatchObject({ ok: false });
    expect(checkWrite('.env', 1, { forbiddenPaths: [] })).toMatchObject({ ok: false });
    expect(checkWrite('a.txt', 11, { maxFileBytes: 10 })).toMatchObject({ ok: false, reason: expect.stringMatching(/at most 10 bytes/) });
    expect(checkWrite('a.txt', 10, { maxFileBytes: 10 })).toEqual({ ok: true });
    expect(scopeViolations(['src/a.ts', 'yarn.lock', 'x/.env.local'])).toEqual(['yarn.lock', 'x/.env.local']);
  });

  test('denied commands', () => {
    for (const c of [
      'git push',
      'cd a && git -C b push origin x',
      'curl x',
      'x=$(wget -q -O- y)',
      'cat /proc/self/environ',
      'rm -rf /',
      'rm -fr ~',
      'sudo ls',
      'git remote add o u',
    ]) {
      expect(checkCommand(c), c).toMatchObject({ ok: false });
    }
    for (const c of ['npm test', 'git status', 'echo curling', 'rm -rf ./build', 'grep -r push src', 'cat /proc/cpuinfo']) {
      expect(checkCommand(c), c).toEqual({ ok: true });
    }
  });
});

describe('sandbox settings', () => {
  test('project settings become clamped limits; bad values fall back to defaults', () => {
    const l = sandboxLimitsFor(parseSandboxSettings({ memoryMb: 512, cpus: 0.5, pids: 1_000_000, workspaceMb: 'big', installNetwork: 'yes' }));
    expect(l).toMatchObject({ memoryBytes: 512 * 1024 ** 2, nanoCpus: 500_000_000, pidsLimit: 4096, workspaceSize: DEFAULT_SANDBOX_LIMITS.workspaceSize });
    expect(parseSandboxSettings({ installNetwork: 'yes' }).installNetwork).toBe(false);
    expect(sandboxLimitsFor(parseSandboxSettings(null))).toEqual(DEFAULT_SANDBOX_LIMITS);
  });
});

describe('files that run code in CI or on developer machines', () => {
  test('are forbidden by default, and a project may lift each of them but not the rest', () => {
    for (const p of ['.gitattributes', '.gitmodules', '.husky/pre-commit', '.pre-commit-config.yaml', 'CODEOWNERS', 'docs/CODEOWNERS', '.vscode/tasks.json']) {
      expect(checkWrite(p, 10).ok, p).toBe(false);
    }
    expect(checkWrite('.gitattributes', 10, { allowDefaults: ['.gitattributes'] }).ok).toBe(true);
    expect(checkWrite('.gitmodules', 10, { allowDefaults: ['.gitattributes'] }).ok).toBe(false);
    expect(scopeLimitsSchema.safeParse({ allowDefaults: ['CODEOWNERS'] }).success).toBe(true);
    expect(scopeLimitsSchema.safeParse({ allowDefaults: ['.env'] }).success).toBe(false);
    expect(scopeLimitsSchema.safeParse({ allowDefaults: ['.github/**'] }).success).toBe(false);
  });
});
