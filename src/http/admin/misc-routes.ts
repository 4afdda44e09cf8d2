/** Admin routes: costs, admin tokens and the OpenAPI document. */
import { z } from 'zod';
import { costQuerySchema, costReport } from '../../costs/cost-report.js';
import { HttpError } from '../error-handler.js';
import { createAdminToken, ROLES } from './admin-tokens.js';
import { openApiDocument } from './openapi.js';
import { defineRoute } from './route-table.js';
import { buildDashboard } from '../../monitoring/dashboard.js';
import { PROJECT_KEY } from '../../domain/fix/ids.js';
import { taskQueues } from '../../../temporal.config.js';

export const miscRoutes = [
  defineRoute({
    method: 'get',
    path: '/costs',
    role: 'VIEWER',
    tag: 'costs',
    summary: 'Model costs by day, model or project, from the ledger',
    query: costQuerySchema,
    handle: async ({ deps, query }) => costReport(deps.prisma, query),
  }),
  defineRoute({
    method: 'get',
    path: '/tokens',
    role: 'ADMIN',
    tag: 'tokens',
    summary: 'List admin tokens (never the tokens themselves)',
    handle: async ({ deps }) => ({
      tokens: (await deps.prisma.adminToken.findMany({ orderBy: { createdAt: 'asc' } })).map((t) => ({
        id: t.id,
        name: t.name,
        role: t.role,
        createdAt: t.createdAt.toISOString(),
        lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
        revokedAt: t.revokedAt?.toISOString() ?? null,
      })),
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/tokens',
    role: 'ADMIN',
    tag: 'tokens',
    summary: 'Create an admin token (shown once)',
    status: 201,
    body: z.object({ name: z.string().trim().min(1).max(100), role: z.enum(ROLES) }),
    handle: async ({ deps, body }) => ({ ...(await createAdminToken(deps.prisma, body.name, body.role)), name: body.name, role: body.role }),
  }),
  defineRoute({
    method: 'delete',
    path: '/tokens/:id',
    role: 'ADMIN',
    tag: 'tokens',
    summary: 'Revoke an admin token',
    params: z.object({ id: z.uuid() }),
    handle: async ({ deps, params }) => {
      const { count } = await deps.prisma.adminToken.updateMany({ where: { id: params.id, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count === 0) throw new HttpError(404, 'no such active token');
      return { revoked: params.id };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/dashboard',
    role: 'VIEWER',
    tag: 'monitoring',
    summary: 'Queue, outcomes, time to PR and spend (today, this month), kill switches; ?project=key narrows it',
    query: z.object({ project: z.string().regex(PROJECT_KEY).optional() }),
    handle: async ({ deps, query }) => buildDashboard({ prisma: deps.prisma, temporal: deps.temporal, taskQueue: taskQueues.main }, query.project),
  }),
  defineRoute({
    method: 'get',
    path: '/openapi.json',
    role: 'VIEWER',
    tag: 'meta',
    summary: 'This API as an OpenAPI 3.1 document',
    handle: async ({ routes }) => openApiDocument(routes),
  }),
];
