/**
 * Admin routes: organisation budgets (admin writes, viewers read, each with its current spend)
 * and alerts (viewers list, operators resolve; a resolve reaches PagerDuty and the other channels
 * through the same dispatch workflow as a trigger).
 */
import { z } from 'zod';
import { dispatchAlert } from '../../alerts/alert-dispatch.js';
import { alertView, resolveAlert } from '../../alerts/alert-store.js';
import {
  budgetChangeSchema,
  budgetCreateSchema,
  budgetListSchema,
  changeBudget,
  createBudget,
  deleteBudget,
  listBudgets,
  readBudget,
} from '../../alerts/budget-admin.js';
import { HttpError } from '../error-handler.js';
import { defineRoute } from './route-table.js';

const idParams = z.object({ id: z.uuid() });

export const alertRoutes = [
  defineRoute({
    method: 'get',
    path: '/budgets',
    role: 'VIEWER',
    tag: 'budgets',
    summary: 'Organisation budgets with their current period, spend and percentage; ?project=key narrows it',
    query: budgetListSchema,
    handle: async ({ deps, query }) => ({ budgets: await listBudgets(deps.prisma, query.project) }),
  }),
  defineRoute({
    method: 'post',
    path: '/budgets',
    role: 'ADMIN',
    tag: 'budgets',
    status: 201,
    body: budgetCreateSchema,
    summary: 'Create a budget: global (no project) or per project, per day|week|month (UTC), thresholds in % of limitUsd (80/95/100)',
    handle: async ({ deps, body }) => createBudget(deps.prisma, body),
  }),
  defineRoute({
    method: 'get',
    path: '/budgets/:id',
    role: 'VIEWER',
    tag: 'budgets',
    summary: 'Read a budget with its current spend',
    params: idParams,
    handle: async ({ deps, params }) => readBudget(deps.prisma, params.id),
  }),
  defineRoute({
    method: 'patch',
    path: '/budgets/:id',
    role: 'ADMIN',
    tag: 'budgets',
    summary: 'Change a budget (limit, period, thresholds, enabled)',
    params: idParams,
    body: budgetChangeSchema,
    handle: async ({ deps, params, body }) => changeBudget(deps.prisma, params.id, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/budgets/:id',
    role: 'ADMIN',
    tag: 'budgets',
    summary: 'Delete a budget (its kill switch is lifted at the next evaluation)',
    params: idParams,
    handle: async ({ deps, params }) => deleteBudget(deps.prisma, params.id),
  }),
  defineRoute({
    method: 'get',
    path: '/alerts',
    role: 'VIEWER',
    tag: 'alerts',
    summary: 'Alerts, newest first: ?status=active|resolved&limit=',
    query: z.object({ status: z.enum(['active', 'resolved']).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
    handle: async ({ deps, query }) => ({
      alerts: (
        await deps.prisma.alert.findMany({
          where: query.status ? { status: query.status === 'active' ? 'ACTIVE' : 'RESOLVED' } : {},
          orderBy: { createdAt: 'desc' },
          take: query.limit,
        })
      ).map(alertView),
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/alerts/:id/resolve',
    role: 'OPERATOR',
    tag: 'alerts',
    params: idParams,
    body: z.object({ reason: z.string().trim().max(1000).optional() }),
    summary:
      'Resolve an active alert; the resolve goes to PagerDuty and the other channels. A budget kill switch is lifted separately (/kill-switches/deactivate)',
    handle: async ({ deps, params, body, actor }) => {
      const by = `admin:${actor.name}${body?.reason ? `: ${body.reason}` : ''}`;
      const resolved = await resolveAlert(deps.prisma, params.id, by);
      if (!resolved) {
        const exists = await deps.prisma.alert.findUnique({ where: { id: params.id }, select: { id: true } });
        throw exists ? new HttpError(409, 'the alert is already resolved') : new HttpError(404, `no alert ${params.id}`);
      }
      // On the deployment that raised it (its workers hold the channel settings). Temporal
      // unreachable: resolved all the same; the alert evaluator sends the resolve later.
      const delivery = await dispatchAlert(deps.temporal, resolved.source, { alertId: resolved.id, action: 'resolve', round: resolved.notifyRound }).then(
        () => 'dispatched' as const,
        () => 'pending' as const,
      );
      return { alert: alertView(resolved), delivery };
    },
  }),
];
