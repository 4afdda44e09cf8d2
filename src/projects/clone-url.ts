/**
 * A clone URL may carry credentials (`https://user:token@host/...`, set through the admin API).
 * Workflow payloads are history: they hold the URL without them, and the activity that runs git
 * puts them back from the project's row, on the host, at the moment of use.
 */
import type { PrismaClient } from '../db/prisma.js';

const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#@]*@/;

export function withoutCredentials(url: string): string {
  return url.replace(USERINFO, '$1');
}

/** The project's stored clone URL when `url` is it without credentials; else `url` unchanged. */
export async function withStoredCredentials(prisma: PrismaClient | undefined, bugId: string, url: string): Promise<string> {
  if (!prisma) return url;
  const bug = await prisma.bugReport.findUnique({ where: { id: bugId }, select: { project: { select: { cloneUrl: true } } } });
  const stored = bug?.project.cloneUrl;
  return stored && stored !== url && withoutCredentials(stored) === url ? stored : url;
}
