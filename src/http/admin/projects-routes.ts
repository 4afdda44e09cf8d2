/** Admin routes: projects and their intake keys. Writes need ADMIN, reads VIEWER. */
import { z } from 'zod';
import { PROJECT_KEY } from '../../domain/fix/ids.js';
import type { PrismaClient } from '../../db/prisma.js';
import { deleteProject, issueIntakeKey, projectSchema, projectSettingsSchema, updateProject, upsertProject } from '../../projects/project-store.js';
import { redactNotifications } from '../../projects/project-settings.js';
import { parseSecrets } from '../../projects/environment-settings.js';
import { hashKey } from '../../intake/keys.js';
import { HttpError } from '../error-handler.js';
import { defineRoute } from './route-table.js';

const keyParams = z.object({ key: z.string().regex(PROJECT_KEY) });
const intakeKeyParams = keyParams.extend({ id: z.uuid() });

type ProjectRow = Awaited<ReturnType<PrismaClient['project']['findUniqueOrThrow']>>;

function present(p: ProjectRow) {
  return {
    key: p.key,
    name: p.name,
    repoOwner: p.repoOwner,
    repoName: p.repoName,
    // Credentials in a clone URL (https://user:token@host/…) are not shown back, like notification secrets.
    cloneUrl: p.cloneUrl?.replace(/:\/\/[^/?#]*@/, '://***@') ?? null,
    defaultBranch: p.defaultBranch,
    validation: p.validation,
    budgets: p.budgets,
    scopeLimits: p.scopeLimits,
    sandbox: p.sandbox,
    notifications: redactNotifications(p.notifications),
    prDraft: p.prDraft,
    prLabels: p.prLabels,
    reproduction: p.reproduction,
    environment: p.environment ?? null,
    github: p.github,
    delivery: p.delivery,
    // Write-only: the names, never the values.
    environmentSecrets: Object.keys(parseSecrets(p.environmentSecrets)).sort(),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

async function projectOrThrow(prisma: PrismaClient, key: string) {
  const p = await prisma.project.findUnique({ where: { key } });
  if (!p) throw new HttpError(404, `no project ${key}`);
  return p;
}

/** The key id HMAC-signed intake requests name (see src/intake/hmac.ts). */
export const intakeKeyId = (keyHash: string) => keyHash.slice(0, 16);

export const projectRoutes = [
  defineRoute({
    method: 'get',
    path: '/projects',
    role: 'VIEWER',
    tag: 'projects',
    summary: 'List projects',
    handle: async ({ deps }) => ({ projects: (await deps.prisma.project.findMany({ orderBy: { key: 'asc' } })).map(present) }),
  }),
  defineRoute({
    method: 'post',
    path: '/projects',
    role: 'ADMIN',
    tag: 'projects',
    summary: 'Create a project',
    status: 201,
    body: projectSchema,
    handle: async ({ deps, body }) => {
      if (await deps.prisma.project.findUnique({ where: { key: body.key }, select: { id: true } }))
        throw new HttpError(409, `project ${body.key} exists: use PATCH`);
      return present(await upsertProject(deps.prisma, body));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/projects/:key',
    role: 'VIEWER',
    tag: 'projects',
    summary: 'Read a project',
    params: keyParams,
    handle: async ({ deps, params }) => present(await projectOrThrow(deps.prisma, params.key)),
  }),
  defineRoute({
    method: 'patch',
    path: '/projects/:key',
    role: 'ADMIN',
    tag: 'projects',
    summary: "Change a project's settings",
    params: keyParams,
    body: projectSettingsSchema,
    handle: async ({ deps, params, body }) => {
      const p = await updateProject(deps.prisma, params.key, body);
      if (!p) throw new HttpError(404, `no project ${params.key}`);
      return present(p);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/projects/:key',
    role: 'ADMIN',
    tag: 'projects',
    summary: 'Delete a project with its keys and reports',
    params: keyParams,
    handle: async ({ deps, params }) => {
      if (!(await deleteProject(deps.prisma, params.key))) throw new HttpError(404, `no project ${params.key}`);
      return { deleted: params.key };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/projects/:key/intake-keys',
    role: 'VIEWER',
    tag: 'projects',
    summary: "List a project's intake keys (never the keys themselves)",
    params: keyParams,
    handle: async ({ deps, params }) => {
      const p = await projectOrThrow(deps.prisma, params.key);
      const keys = await deps.prisma.intakeKey.findMany({ where: { projectId: p.id }, orderBy: { createdAt: 'asc' } });
      return {
        keys: keys.map((k) => ({
          id: k.id,
          keyId: intakeKeyId(k.keyHash),
          label: k.label,
          createdAt: k.createdAt.toISOString(),
          revokedAt: k.revokedAt?.toISOString() ?? null,
        })),
      };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/projects/:key/intake-keys',
    role: 'ADMIN',
    tag: 'projects',
    summary: 'Issue an intake key (shown once)',
    status: 201,
    params: keyParams,
    body: z.object({ label: z.string().trim().min(1).max(100).default('default') }),
    handle: async ({ deps, params, body }) => {
      const p = await projectOrThrow(deps.prisma, params.key);
      const key = await issueIntakeKey(deps.prisma, p.id, body.label);
      return { key, keyId: intakeKeyId(hashKey(key)), label: body.label };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/projects/:key/intake-keys/:id',
    role: 'ADMIN',
    tag: 'projects',
    summary: 'Revoke an intake key',
    params: intakeKeyParams,
    handle: async ({ deps, params }) => {
      const p = await projectOrThrow(deps.prisma, params.key);
      const { count } = await deps.prisma.intakeKey.updateMany({ where: { id: params.id, projectId: p.id, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count === 0) throw new HttpError(404, 'no such active key');
      return { revoked: params.id };
    },
  }),
];
