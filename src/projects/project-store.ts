/** Projects and their intake keys (the admin API builds on these). */
import { z } from 'zod';
import { PROJECT_KEY } from '../domain/ids.js';
import { VALIDATION_GATES } from '../domain/fix.js';
import type { PrismaClient } from '../db/prisma.js';
import { hashKey, newIntakeKey } from '../intake/keys.js';

export const projectSchema = z.object({
  key: z.string().regex(PROJECT_KEY, 'lowercase letters, digits and dashes, starting with a letter or digit'),
  name: z.string().min(1).max(200),
  repoOwner: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
  repoName: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
  cloneUrl: z.string().min(1).optional(),
  defaultBranch: z.string().regex(/^[A-Za-z0-9._/-]{1,200}$/).default('main'),
  validation: z.partialRecord(z.enum(VALIDATION_GATES), z.string().min(1).max(2000)).default({}),
});
export type ProjectInput = z.input<typeof projectSchema>;

export async function upsertProject(prisma: PrismaClient, input: ProjectInput) {
  const p = projectSchema.parse(input);
  const data = { ...p, cloneUrl: p.cloneUrl ?? null };
  return prisma.project.upsert({ where: { key: p.key }, create: data, update: data });
}

/** Returns the new key once; only its hash is stored. */
export async function issueIntakeKey(prisma: PrismaClient, projectId: string, label = 'default'): Promise<string> {
  const key = newIntakeKey();
  await prisma.intakeKey.create({ data: { projectId, keyHash: hashKey(key), label } });
  return key;
}
