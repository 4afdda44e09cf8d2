/** Turns a fixture folder into a real bare git remote with one commit on `main`. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PrismaClient } from '../src/db/prisma.js';
import type { ValidationCommands } from '../src/domain/fix/fix.js';
import { upsertProject } from '../src/projects/project-store.js';
import type { GitHubStandIn } from './stand-ins/github-api.js';

export const FIXTURE_REPOS = path.join(import.meta.dirname, 'repos');

export function createBareRemote(fixture: string, bareDir: string): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-fixture-'));
  const run = (args: string[], cwd: string) => execFileSync('git', args, { cwd, stdio: 'pipe' });
  try {
    fs.cpSync(path.join(FIXTURE_REPOS, fixture), work, { recursive: true });
    run(['init', '-q', '-b', 'main'], work);
    run(['add', '-A'], work);
    run(['-c', 'user.name=Fixture', '-c', 'user.email=fixture@example.invalid', 'commit', '-q', '-m', 'Initial commit'], work);
    fs.rmSync(bareDir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(bareDir), { recursive: true });
    run(['clone', '-q', '--bare', work, bareDir], os.tmpdir());
    return bareDir;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export interface FixtureProjectOptions {
  /** project key (unique per test run) */
  key: string;
  /** repository name under owner `acme`; also the bare remote's file name */
  repo: string;
  /** folder the bare remote is created in */
  dir: string;
  fixture?: string;
  /** defaults to the fixtures' own `npm test` */
  validation?: ValidationCommands;
}

/**
 * The usual test project: a fresh bare remote of a fixture, known to the GitHub stand-in when one
 * runs, and a project pointing at it.
 */
export async function createFixtureProject(
  prisma: PrismaClient,
  github: Pick<GitHubStandIn, 'addRepo'> | undefined,
  opts: FixtureProjectOptions,
): Promise<{ project: Awaited<ReturnType<typeof upsertProject>>; bare: string }> {
  const bare = createBareRemote(opts.fixture ?? 'pagination', path.join(opts.dir, `${opts.repo}.git`));
  github?.addRepo('acme', opts.repo, bare);
  const project = await upsertProject(prisma, {
    key: opts.key,
    name: opts.repo,
    repoOwner: 'acme',
    repoName: opts.repo,
    cloneUrl: bare,
    validation: opts.validation ?? { test: 'npm test' },
  });
  return { project, bare };
}
