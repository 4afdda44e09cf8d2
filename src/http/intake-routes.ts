/**
 * Free-text intake: POST /api/intake/email (raw MIME or an inbound-mail provider's JSON, linked
 * to a project by the sender) and POST /api/intake/webhook (chat/form payloads, authenticated
 * with the project's intake key). Both start a triage workflow and answer 202 with its id.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import { projectForSender, type EmailRoute } from '../intake/email-senders.js';
import { InboundMessageError, parseProviderJson, parseRawEmail, parseWebhook, type InboundMessage } from '../intake/inbound-message.js';
import { startTriage } from '../intake/start-triage.js';
import type { AppDeps } from './deps.js';
import { HttpError } from './error-handler.js';
import { authenticateIntake, keepRawBody, type IntakeAuthSettings } from './intake-auth.js';
import { refuseUnstorableInput } from './storable-input.js';

export interface EmailIntakeSettings {
  /** shared secret of the inbound-mail provider; undefined disables the endpoint */
  token?: string;
  routes: readonly EmailRoute[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Before the body is read: up to 10 MB is parsed for the provider's token holder only. */
export function requireEmailToken(expected: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (!expected) throw new HttpError(503, 'email intake is not configured (INTAKE_EMAIL_TOKEN)');
    const auth = req.header('authorization');
    const given = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : typeof req.query.token === 'string' ? req.query.token : undefined;
    if (!given) throw new HttpError(401, 'missing token: send Authorization: Bearer <token> or ?token=');
    // Digests have equal length whatever was sent, so the comparison is constant-time.
    if (!timingSafeEqual(digest(given), digest(expected))) throw new HttpError(401, 'wrong token');
    next();
  };
}

async function parseOr400<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof InboundMessageError) throw new HttpError(400, err.message);
    throw err;
  }
}

function accepted(res: express.Response, project: string, m: InboundMessage, triageWorkflowId: string) {
  res.status(202).json({ triageWorkflowId, project, source: m.source, from: m.from, subject: m.subject });
}

export function intakeRouter(deps: AppDeps, auth: IntakeAuthSettings, email: EmailIntakeSettings): Router {
  const router = Router();
  const rawMime = express.raw({ type: ['message/rfc822', 'text/plain', 'application/octet-stream'], limit: '10mb' });

  // The token is checked and provider JSON parsed in app.ts (its own 10 MB limit, ahead of the
  // global 1 MB parser), before any body is read.
  router.post('/email', rawMime, async (req, res) => {
    const message = await parseOr400(() => (Buffer.isBuffer(req.body) ? parseRawEmail(req.body) : parseProviderJson(req.body)));
    const key = projectForSender(email.routes, message.from);
    if (!key) throw new HttpError(422, `no project takes email from ${message.from}`);
    const project = await deps.prisma.project.findUnique({ where: { key }, select: { id: true, key: true } });
    if (!project) throw new HttpError(422, `sender ${message.from} maps to unknown project ${key}`);
    const { triageWorkflowId } = await startTriage(deps.temporal, project, message);
    accepted(res, project.key, message, triageWorkflowId);
  });

  router.post('/webhook', express.urlencoded({ extended: false, limit: '1mb', verify: keepRawBody }), refuseUnstorableInput, async (req, res) => {
    const { project } = await authenticateIntake(deps.prisma, req, auth);
    const message = await parseOr400(() => parseWebhook(req.body));
    const { triageWorkflowId } = await startTriage(deps.temporal, project, message);
    accepted(res, project.key, message, triageWorkflowId);
  });

  return router;
}
