/** Intake: POST /api/bugs files a report for the caller's project; GET /api/bugs/:id reads it. */
import { Router, type Request } from 'express';
import type { FixStatus } from '../domain/fix.js';
import { bugReportSchema, fileBug } from '../intake/file-bug.js';
import { hashKey } from '../intake/keys.js';
import { CostUsdKey, IterationKey, PhaseKey } from '../domain/search-attributes.js';
import { statusQuery } from '../../workflows/messages.js';
import type { AppDeps } from './app.js';
import { HttpError } from './errors.js';

function presentedKey(req: Request): string | undefined {
  const auth = req.header('authorization');
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  return req.header('x-api-key') ?? undefined;
}

export function bugsRouter(deps: AppDeps): Router {
  const router = Router();

  async function projectOf(req: Request) {
    const key = presentedKey(req);
    if (!key) throw new HttpError(401, 'missing API key: send Authorization: Bearer <intake key>');
    const found = await deps.prisma.intakeKey.findUnique({ where: { keyHash: hashKey(key) }, include: { project: true } });
    if (!found || found.revokedAt) throw new HttpError(401, 'unknown or revoked API key');
    return found.project;
  }

  router.post('/', async (req, res) => {
    const project = await projectOf(req);
    const report = bugReportSchema.parse(req.body);
    const filed = await fileBug(deps, project, report, req.header('idempotency-key') ?? undefined);
    res.status(filed.created ? 202 : 200).json({
      bugId: filed.bugId,
      workflowId: filed.workflowId,
      statusUrl: `/api/bugs/${filed.bugId}`,
      temporalUiUrl: filed.temporalUiUrl,
      duplicate: !filed.created,
    });
  });

  router.get('/:id', async (req, res) => {
    const project = await projectOf(req);
    const id = req.params.id;
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new HttpError(404, 'no such bug');
    const bug = await deps.prisma.bugReport.findFirst({ where: { id, projectId: project.id } });
    if (!bug) throw new HttpError(404, 'no such bug');
    const handle = deps.temporal.workflow.getHandle(bug.workflowId);
    // describe() needs no worker: phase, iteration and cost come from search attributes.
    const described = await handle.describe().catch(() => null);
    // The richer status query needs a worker; a short deadline keeps this endpoint answering
    // while workers are busy or down.
    const details = described?.status.name === 'RUNNING'
      ? await deps.temporal.withDeadline(Date.now() + 1500, () => handle.query(statusQuery)).catch((): FixStatus | null => null)
      : null;
    res.json({
      bugId: bug.id,
      workflowId: bug.workflowId,
      title: bug.title,
      status: bug.status,
      statusReason: bug.statusReason,
      prUrl: bug.prUrl,
      iterations: bug.iterations,
      costUsd: bug.costUsd?.toString() ?? null,
      workflow: described && {
        status: described.status.name,
        phase: described.typedSearchAttributes.get(PhaseKey) ?? null,
        iteration: described.typedSearchAttributes.get(IterationKey) ?? null,
        costUsd: described.typedSearchAttributes.get(CostUsdKey) ?? null,
      },
      details,
    });
  });

  return router;
}
