/** Admin routes: fixes from Temporal (list, detail, transcript) and steering them. */
import { z } from 'zod';
import { cancelSchema, controlFix, hintSchema, raiseBudgetSchema, type FixAction } from '../../fixes/fix-control.js';
import { fixDetail, fixTranscript } from '../../fixes/fix-detail.js';
import { fixFiltersSchema, listFixes } from '../../fixes/fix-queries.js';
import { defineRoute, type AdminRoute } from './route-table.js';
import { roleAtLeast, type AdminActor } from './admin-tokens.js';

/** A bug id (UUID) or a workflow id. */
const fixParams = z.object({ fix: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'a bug id or workflow id') });

function action<B extends z.ZodType>(
  name: string,
  summary: string,
  body: B | undefined,
  toAction: (body: z.output<B>, actor: AdminActor) => FixAction,
): AdminRoute {
  return defineRoute({
    method: 'post',
    path: `/fixes/:fix/${name}`,
    role: 'OPERATOR',
    tag: 'fixes',
    summary,
    params: fixParams,
    body,
    handle: async ({ deps, params, body: b, actor }) => ({
      ok: true,
      ...(await controlFix(deps, params.fix, toAction(b as z.output<B>, actor), `admin:${actor.name}`)),
    }),
  });
}

export const fixRoutes = [
  defineRoute({
    method: 'get',
    path: '/fixes',
    role: 'VIEWER',
    tag: 'fixes',
    summary: 'List fixes from Temporal visibility',
    query: fixFiltersSchema,
    handle: async ({ deps, query }) => ({ fixes: await listFixes(deps.temporal, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/fixes/:fix',
    role: 'VIEWER',
    tag: 'fixes',
    summary: 'A fix: status, ledger, PR and timeline',
    params: fixParams,
    handle: async ({ deps, params }) => fixDetail(deps, params.fix),
  }),
  defineRoute({
    method: 'get',
    path: '/fixes/:fix/transcript',
    role: 'VIEWER',
    tag: 'fixes',
    summary: "The model's turns of a fix",
    params: fixParams,
    handle: async ({ deps, params }) => fixTranscript(deps, params.fix),
  }),
  action('pause', 'Pause before the next iteration', undefined, () => ({ kind: 'pause' })),
  action('resume', 'Resume a paused fix', undefined, () => ({ kind: 'resume' })),
  action('cancel', 'Stop a fix (it still cleans up and records why)', cancelSchema, (b) => ({ kind: 'cancel', reason: b.reason })),
  action('hint', 'Give the model a hint for its next turn', hintSchema, (b) => ({ kind: 'hint', text: b.text })),
  // Operators up to the project's ceiling (budgets.operatorMax, else its own budgets); admins beyond.
  action('budget', "Raise a running fix's budgets (operators up to the project's ceiling, admins beyond)", raiseBudgetSchema, (b, actor) => ({
    kind: 'raise-budget',
    budgets: b,
    aboveCeiling: roleAtLeast(actor.role, 'ADMIN'),
  })),
];
