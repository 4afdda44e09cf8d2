/**
 * Admin routes: stored inbound messages (emails, chat, form posts) and their triage. A message
 * whose triage failed for good (FAILED, also alerted on) is listed here and retried on request.
 */
import { z } from 'zod';
import { INBOUND_STATUSES } from '../../domain/organisation/triage-verdict.js';
import { UUID } from '../../fixes/resolve-fix.js';
import { FixError } from '../../fixes/fix-errors.js';
import { requeueFailed, startStoredTriage } from '../../intake/inbound-store.js';
import { defineRoute } from './route-table.js';

const listQuery = z.object({
  status: z.enum(INBOUND_STATUSES).optional(),
  project: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const idParams = z.object({ id: z.string().regex(UUID, 'an inbound message id (UUID)') });

const view = (r: {
  id: string;
  source: string;
  sender: string;
  subject: string;
  status: string;
  lastError: string | null;
  runs: number;
  triageWorkflowId: string;
  createdAt: Date;
  updatedAt: Date;
  project: { key: string };
}) => ({
  id: r.id,
  project: r.project.key,
  source: r.source,
  from: r.sender,
  subject: r.subject,
  status: r.status,
  lastError: r.lastError,
  runs: r.runs,
  triageWorkflowId: r.triageWorkflowId,
  receivedAt: r.createdAt,
  updatedAt: r.updatedAt,
});

export const inboundRoutes = [
  defineRoute({
    method: 'get',
    path: '/inbound',
    role: 'VIEWER',
    tag: 'intake',
    summary: 'Stored inbound messages (newest first), e.g. ?status=FAILED for those whose triage failed for good',
    query: listQuery,
    handle: async ({ deps, query }) => {
      const rows = await deps.prisma.inboundMessage.findMany({
        where: { ...(query.status ? { status: query.status } : {}), ...(query.project ? { project: { key: query.project } } : {}) },
        include: { project: { select: { key: true } } },
        orderBy: { createdAt: 'desc' },
        take: query.limit,
      });
      return { messages: rows.map(view) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/inbound/:id/retry',
    role: 'OPERATOR',
    tag: 'intake',
    summary: 'Triage a FAILED inbound message again (a new run of its triage workflow)',
    params: idParams,
    handle: async ({ deps, params }) => {
      if (!(await requeueFailed(deps.prisma, { id: params.id }))) {
        const row = await deps.prisma.inboundMessage.findUnique({ where: { id: params.id }, select: { status: true } });
        throw new FixError(row ? 'rejected' : 'not-found', row ? `only a FAILED message can be retried; this one is ${row.status}` : 'no such inbound message');
      }
      const row = await deps.prisma.inboundMessage.findUniqueOrThrow({ where: { id: params.id }, include: { project: { select: { key: true } } } });
      // Back to PENDING first: if this start fails, the triage outbox starts it.
      if (deps.triageDispatcher) deps.triageDispatcher.enqueue(row);
      else await startStoredTriage(deps, row);
      return { ok: true, message: view(row) };
    },
  }),
];
