/**
 * The prepared environment images of this host: their rows (EnvironmentImage, per host and key),
 * and least-recently-used eviction beyond a size budget (of the setups' own layers). An image is "ready" only when both its row
 * says so and Docker still has it (an operator may prune images by hand).
 */
import type Docker from 'dockerode';
import type { PrismaClient } from '../db/prisma.js';
import { storableText, withoutNul } from '../db/jsonb.js';
import { ENVIRONMENT_LABELS } from './environment-setup.js';
import { refusedTargets, type EgressRecord } from './egress-proxy.js';

export const environmentImageTag = (projectKey: string, key: string) => `bugfix-env-${projectKey}:${key}`;

export interface ReadyEnvironment {
  tag: string;
  key: string;
  /** the commit the setup ran on: a fix applies the delta from it to its own */
  baseSha: string;
  /** hosts the setup asked for and was refused (shown with the fix and in its pull request) */
  egressDenied: string[];
}

interface Row {
  tag: string;
  key: string;
  baseSha: string;
  egress: unknown;
}

/** The stored egress column is JSON written by recordBuilt/recordFailed: EgressRecord[]. */
const ready = (row: Row): ReadyEnvironment => ({
  tag: row.tag,
  key: row.key,
  baseSha: row.baseSha,
  egressDenied: refusedTargets(Array.isArray(row.egress) ? (row.egress as EgressRecord[]) : []),
});

/** The ready image of this key on this host, touched for LRU; null when it must be built. */
export async function findReadyEnvironment(prisma: PrismaClient, docker: Docker, host: string, key: string): Promise<ReadyEnvironment | null> {
  const row = await prisma.environmentImage.findUnique({ where: { host_key: { host, key } } });
  if (row?.status !== 'ready') return null;
  const present = await docker
    .getImage(row.tag)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (!present) return null;
  await prisma.environmentImage.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  return ready(row);
}

export interface BuildRecord {
  host: string;
  key: string;
  projectKey: string;
  tag: string;
  baseSha: string;
  toolchainImage: string;
}

export async function recordBuilding(prisma: PrismaClient, r: BuildRecord): Promise<void> {
  const data = { ...r, status: 'building', imageId: null, sizeBytes: null, setupMs: null, egress: [], outputTail: null, error: null };
  await prisma.environmentImage.upsert({ where: { host_key: { host: r.host, key: r.key } }, create: data, update: data });
}

export async function recordBuilt(
  prisma: PrismaClient,
  host: string,
  key: string,
  r: { imageId: string; sizeBytes: number; setupMs: number; egress: unknown[]; outputTail: string },
): Promise<ReadyEnvironment> {
  const row = await prisma.environmentImage.update({
    where: { host_key: { host, key } },
    data: {
      status: 'ready',
      imageId: r.imageId,
      sizeBytes: BigInt(r.sizeBytes),
      setupMs: r.setupMs,
      // The setup's own output: anything a script prints, NUL included (src/db/jsonb.ts).
      egress: withoutNul(r.egress) as object[],
      outputTail: storableText(r.outputTail),
      lastUsedAt: new Date(),
    },
  });
  return ready(row);
}

export async function recordFailed(prisma: PrismaClient, host: string, key: string, error: string, egress: unknown[]): Promise<void> {
  await prisma.environmentImage.updateMany({
    where: { host, key },
    data: { status: 'failed', error: storableText(error.slice(0, 8000)), egress: withoutNul(egress) as object[] },
  });
}

export interface EvictionResult {
  keptBytes: number;
  removed: Array<{ tag: string; why: string }>;
}

/**
 * Removes this host's environment images least recently used first until they fit in `maxBytes`,
 * and images no row knows (a build that crashed after its commit, a row deleted). An image a
 * running sandbox uses cannot be removed (Docker refuses): it stays, and counts.
 */
export async function evictEnvironmentImages(prisma: PrismaClient, docker: Docker, host: string, maxBytes: number): Promise<EvictionResult> {
  const images = await docker.listImages({ filters: { label: [`${ENVIRONMENT_LABELS.key}`] } });
  // Building rows count as known: a build commits its image a moment before its row says ready.
  const all = await prisma.environmentImage.findMany({ where: { host }, orderBy: { lastUsedAt: 'desc' } });
  const byTag = new Map(all.map((r) => [r.tag, r]));
  const rows = all.filter((r) => r.status === 'ready');
  const removed: EvictionResult['removed'] = [];
  const remove = async (ref: string, why: string, rowId?: string) => {
    try {
      await docker.getImage(ref).remove();
      if (rowId) await prisma.environmentImage.delete({ where: { id: rowId } });
      removed.push({ tag: ref, why });
      return true;
    } catch {
      return false; // in use by a sandbox, or gone already
    }
  };
  let kept = 0;
  for (const img of images) {
    const tags = (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    const known = tags.some((t) => byTag.has(t));
    if (!known && img.Labels?.['bugfix.host'] === host) await remove(img.Id, 'no environment row knows it');
  }
  for (const row of rows) {
    if (!images.some((i) => (i.RepoTags ?? []).includes(row.tag))) continue;
    // Its own layer only: the toolchain layers under it are shared with the host's other environments.
    const size = Number(row.sizeBytes ?? 0);
    if (kept + size <= maxBytes) kept += size;
    else if (!(await remove(row.tag, `over the ${Math.round(maxBytes / 1024 ** 2)} MB cache, least recently used`, row.id))) kept += size;
  }
  return { keptBytes: kept, removed };
}
