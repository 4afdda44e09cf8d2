/**
 * Local mode: the GitHub stand-in serves every project whose remote this machine holds, not only
 * the ones registered at start. A project created later through the admin API with its own local
 * bare repository (a path or a file:// URL) gets its pull requests like the demo's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrismaClient } from '../src/db/prisma.js';
import type { RepoResolver } from './stand-ins/github-api.js';

/** The folder a local clone URL names, or undefined for a remote one (https, ssh). */
export function localRemoteDir(cloneUrl: string): string | undefined {
  if (cloneUrl.startsWith('file://')) return fileURLToPath(cloneUrl);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(cloneUrl)) return undefined;
  return path.resolve(cloneUrl);
}

export function localProjectRepos(prisma: () => PrismaClient | undefined): RepoResolver {
  return async (owner, name) => {
    const projects = (await prisma()?.project.findMany({ where: { repoOwner: owner, repoName: name, cloneUrl: { not: null } } })) ?? [];
    for (const p of projects) {
      const dir = localRemoteDir(p.cloneUrl!);
      if (dir && fs.existsSync(path.join(dir, 'HEAD'))) return { bareDir: dir, defaultBranch: p.defaultBranch };
    }
    return undefined;
  };
}
