/**
 * Admin API bearer tokens: random, shown once, stored as SHA-256 only (table AdminToken).
 * Roles are ordered: a route open to viewers is open to operators and admins too.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../../db/prisma.js';

export const ROLES = ['VIEWER', 'OPERATOR', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export const roleAtLeast = (have: Role, need: Role) => ROLES.indexOf(have) >= ROLES.indexOf(need);

export function hashAdminToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Returns the token once; only its hash is stored. */
export async function createAdminToken(prisma: PrismaClient, name: string, role: Role): Promise<{ id: string; token: string }> {
  const token = `bfa_${randomBytes(32).toString('base64url')}`;
  const row = await prisma.adminToken.create({ data: { name, role, tokenHash: hashAdminToken(token) } });
  return { id: row.id, token };
}

export interface AdminActor {
  tokenId: string;
  name: string;
  role: Role;
}

/** Writing lastUsedAt on every request would turn each read into a write; once a minute is plenty. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function authenticateAdmin(prisma: PrismaClient, token: string): Promise<AdminActor | null> {
  const row = await prisma.adminToken.findUnique({ where: { tokenHash: hashAdminToken(token) } });
  if (!row || row.revokedAt) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await prisma.adminToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return { tokenId: row.id, name: row.name, role: row.role };
}

/** The actor of a token known by id (a codec session names its token): null once revoked. */
export async function adminActorById(prisma: PrismaClient, tokenId: string): Promise<AdminActor | null> {
  const row = await prisma.adminToken.findUnique({ where: { id: tokenId } });
  if (!row || row.revokedAt) return null;
  return { tokenId: row.id, name: row.name, role: row.role };
}
