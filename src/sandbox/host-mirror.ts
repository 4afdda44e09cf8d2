/**
 * A bare mirror of each project's repository on the worker host, fetched (not cloned) per fix.
 * The environment path needs it twice per fix — the lock files that key the prepared image, and
 * the delta from the image's commit to the fix's — and a fetch of a known repository moves only
 * what changed, where a clone streams the whole history every time.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { git } from '../infra/git.js';

export interface MirrorRequest {
  projectKey: string;
  cloneUrl: string;
  defaultBranch: string;
}

/** One fetch at a time per mirror in this process: git's ref locks refuse a second one. */
const inFlight = new Map<string, Promise<unknown>>();

export function mirrorDir(workDir: string, projectKey: string): string {
  return path.join(workDir, 'mirrors', `${projectKey.replace(/[^a-z0-9-]/g, '_')}.git`);
}

/** Brings the mirror up to date and returns the default branch's head. */
export async function syncMirror(workDir: string, req: MirrorRequest, token?: string): Promise<{ dir: string; head: string }> {
  const dir = mirrorDir(workDir, req.projectKey);
  const previous = inFlight.get(dir) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => fetchInto(dir, req, token));
  inFlight.set(dir, run);
  try {
    return { dir, head: await run };
  } finally {
    if (inFlight.get(dir) === run) inFlight.delete(dir);
  }
}

async function fetchInto(dir: string, req: MirrorRequest, token?: string): Promise<string> {
  const ref = `refs/heads/${req.defaultBranch}`;
  if (!(await fs.stat(path.join(dir, 'HEAD')).catch(() => null))) {
    await fs.mkdir(dir, { recursive: true });
    await git(['init', '--quiet', '--bare', dir]);
  }
  // The URL is passed on each fetch, not stored: an admin may change it, and a token never is.
  await git(['fetch', '--quiet', '--no-tags', '--force', '--', req.cloneUrl, `+${ref}:${ref}`], { cwd: dir, token });
  return (await git(['rev-parse', ref], { cwd: dir })).trim();
}

/** A file's bytes at a commit, or null when it does not exist there. */
export async function fileAt(dir: string, commit: string, file: string): Promise<Buffer | null> {
  try {
    return Buffer.from(await git(['cat-file', 'blob', `${commit}:${file}`], { cwd: dir }), 'utf8');
  } catch {
    return null;
  }
}

export async function isAncestor(dir: string, ancestor: string, commit: string): Promise<boolean> {
  try {
    await git(['merge-base', '--is-ancestor', ancestor, commit], { cwd: dir });
    return true;
  } catch {
    return false;
  }
}
