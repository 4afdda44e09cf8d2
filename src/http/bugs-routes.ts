/** Intake: POST /api/bugs files a report for the caller's project; GET /api/bugs/:id reads it. */
import { Router } from 'express';
import { z } from 'zod';
import { PROJECT_KEY } from '../domain/fix/ids.js';
import { UUID } from '../fixes/resolve-fix.js';
import { bugReportSchema, fileBug, ProjectGoneError, WorkflowIdTakenError } from '../intake/file-bug.js';
import { PhaseKey } from '../domain/fix/search-attributes.js';
import type { PrismaClient } from '../db/prisma.js';
import type { AppDeps } from './deps.js';
import { HttpError } from './error-handler.js';
import { authenticateIntake, type IntakeAuthSettings } from './intake-auth.js';
import { admission, admissionBy } from '../safety/kill-switch-client.js';
import { taskQueues } from '../../temporal.config.js';

/** A report may name its project (by key or repository); the key decides which one it may name. */
export const intakeBodySchema = bugReportSchema.extend({
  project: z.string().regex(PROJECT_KEY, 'a project key').optional(),
  repository: z
    .string()
    .trim()
    .regex(/^(https:\/\/github\.com\/)?[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}?(\.git)?$/, 'owner/name or https://github.com/owner/name')
    .optional(),
});

const headersSchema = z.object({ 'idempotency-key': z.string().trim().min(1).max(200).optional() });

async function namedProject(prisma: PrismaClient, body: z.infer<typeof intakeBodySchema>) {
  if (body.project) return prisma.project.findUnique({ where: { key: body.project } });
  if (!body.repository) return undefined;
  const [owner, name] = body.repository
    .replace(/^https:\/\/github\.com\//, '')
    .replace(/\.git$/, '')
    .split('/');
  return prisma.project.findFirst({ where: { repoOwner: { equals: owner, mode: 'insensitive' }, repoName: { equals: name, mode: 'insensitive' } } });
}

export function bugsRouter(deps: AppDeps, auth: IntakeAuthSettings): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    // A bearer request reads the stored kill switches with its key (one statement); a signed one below.
    const { project, replayKey, switches } = await authenticateIntake(deps.prisma, req, auth, taskQueues.main);
    const body = intakeBodySchema.parse(req.body);
    const headers = headersSchema.parse({ 'idempotency-key': req.header('idempotency-key') });
    const named = await namedProject(deps.prisma, body);
    if (named === null) throw new HttpError(422, `unknown project: ${body.project ?? body.repository}`);
    if (named && named.id !== project.id) throw new HttpError(403, `this intake key belongs to project ${project.key}, not ${named.key}`);
    // Refused before anything is stored: the reporter retries once the switch is lifted. With
    // Temporal unreachable the report is still taken (nothing is lost); the fix checks the
    // switches again when it starts, so a report admitted here is still stopped there.
    const admitted = switches
      ? admissionBy(switches, project.key)
      : await admission(deps, taskQueues.main, project.key).catch((err: unknown) => {
          deps.log.warn?.({ err }, 'kill switches unreadable (Temporal unreachable?): report taken, the fix checks again at start');
          return { allowed: true, reason: undefined };
        });
    if (!admitted.allowed) throw new HttpError(409, admitted.reason!);
    // While the outbox's start queue is long, wait (≤ 500 ms) for a start to go out first.
    await deps.dispatcher?.room();
    // Signed: the body's externalId, else the signature (a replay is the same report). Bearer: the body's, else the header's.
    const filed = await fileBug(deps, project, body, replayKey ?? headers['idempotency-key']).catch((err: unknown) => {
      if (err instanceof ProjectGoneError) throw new HttpError(422, err.message);
      if (err instanceof WorkflowIdTakenError) throw new HttpError(409, err.message);
      throw err;
    });
    deps.log.info?.({ bugId: filed.bugId, workflowId: filed.workflowId, projectKey: project.key, duplicate: !filed.created }, 'bug filed');
    res.status(filed.created ? 202 : 200).json({
      bugId: filed.bugId,
      workflowId: filed.workflowId,
      statusUrl: `/api/bugs/${filed.bugId}`,
      temporalUiUrl: filed.temporalUiUrl,
      duplicate: !filed.created,
    });
  });

  router.get('/:id', async (req, res) => {
    const { project } = await authenticateIntake(deps.prisma, req, auth);
    const id = req.params.id;
    // Strict: 36 hex digits (or dashes) pass a loose check and then fail in PostgreSQL as a 500.
    if (!UUID.test(id)) throw new HttpError(404, 'no such bug');
    const bug = await deps.prisma.bugReport.findFirst({
      where: { id, projectId: project.id },
      select: { id: true, workflowId: true, status: true, prUrl: true },
    });
    if (!bug) throw new HttpError(404, 'no such bug');
    // describe() needs no worker: the phase comes from the search attributes. Only phase, outcome
    // and PR: validation output, last actions and failure reasons (git or install stderr) could
    // carry what a crafted report made the tests print, source code included. They stay in the
    // admin API (GET /admin/fixes/:fix).
    const described = await deps.temporal.workflow
      .getHandle(bug.workflowId)
      .describe()
      .catch(() => null);
    res.json({
      bugId: bug.id,
      workflowId: bug.workflowId,
      status: bug.status,
      phase: described?.typedSearchAttributes.get(PhaseKey) ?? null,
      prUrl: bug.prUrl,
    });
  });

  return router;
}
