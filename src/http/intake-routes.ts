/**
 * Free-text intake: POST /api/intake/email (raw MIME or an inbound-mail provider's JSON, linked
 * to a project by the sender the provider authenticated) and POST /api/intake/webhook (chat/form
 * payloads, authenticated with the project's intake key). Both store the message in PostgreSQL,
 * answer 202 with its triage workflow id, and hand it to the triage outbox.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import { projectForSender, type EmailRoute } from '../intake/email-senders.js';
import { InboundMessageError, parseProviderJson, parseRawEmail, parseWebhook, type InboundMessage } from '../intake/inbound-message.js';
import { startStoredTriage, storeInbound, type InboundRow } from '../intake/inbound-store.js';
import type { KeyRateLimiter } from '../intake/shared-rate-limit.js';
import { emptyEvidence, senderVerdict, type SenderAuthPolicy } from '../intake/sender-auth.js';
import type { AppDeps } from './deps.js';
import { HttpError } from './error-handler.js';
import { authenticateIntake, keepRawBody, type IntakeAuthSettings } from './intake-auth.js';
import { refuseUnstorableInput } from './storable-input.js';

export interface EmailIntakeSettings {
  /** shared secret of the inbound-mail provider; undefined disables the endpoint */
  token?: string;
  routes: readonly EmailRoute[];
  senderAuth: SenderAuthPolicy;
  /** per sender address */
  senderLimiter: KeyRateLimiter;
}

/** Without an outbox (an app built without the server), the start is tried here; the row stays stored either way. */
const START_DEADLINE_MS = 10_000;

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Before the body is read: up to 10 MB is parsed for the provider's token holder only. */
export function requireEmailToken(expected: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (!expected) throw new HttpError(503, 'email intake is not configured (INTAKE_EMAIL_TOKEN)');
    // Header only: a token in the URL ends up in proxy and access logs.
    if (req.query.token !== undefined) throw new HttpError(401, 'the token is not accepted in the URL: send Authorization: Bearer <token>');
    const auth = req.header('authorization');
    const given = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : undefined;
    if (!given) throw new HttpError(401, 'missing token: send Authorization: Bearer <token>');
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

function accepted(res: express.Response, project: string, m: InboundMessage, row: InboundRow) {
  res
    .status(202)
    .json({ triageWorkflowId: row.triageWorkflowId, messageId: row.id, status: row.status, project, source: m.source, from: m.from, subject: m.subject });
}

/** Stored first, answered after: the triage outbox starts it (now, or at its next poll). */
async function take(deps: AppDeps, project: { id: string; key: string }, m: InboundMessage): Promise<InboundRow> {
  const { row, created } = await storeInbound(deps.prisma, project, m, !!deps.triageDispatcher?.claimsOnInsert());
  if (row.workflowStartedAt === null) {
    // Only a row this request stored is claimed for this process; any other is claimed first.
    if (deps.triageDispatcher) deps.triageDispatcher.enqueue(row, created ? row.claimedUntil : null);
    else
      await deps.temporal
        .withDeadline(Date.now() + START_DEADLINE_MS, () => startStoredTriage(deps, row))
        .catch((err: unknown) => deps.log.warn?.({ err, triageWorkflowId: row.triageWorkflowId }, 'triage start failed; stored for the outbox'));
  }
  return row;
}

export function intakeRouter(deps: AppDeps, auth: IntakeAuthSettings, email: EmailIntakeSettings): Router {
  const router = Router();
  const rawMime = express.raw({ type: ['message/rfc822', 'text/plain', 'application/octet-stream'], limit: '10mb' });

  // The token is checked and provider JSON parsed in app.ts (its own 10 MB limit, ahead of the
  // global 1 MB parser), before any body is read.
  router.post('/email', rawMime, async (req, res) => {
    const message = await parseOr400(() => (Buffer.isBuffer(req.body) ? parseRawEmail(req.body) : parseProviderJson(req.body)));
    // The From header picks the project, so it counts only once the provider vouched for it.
    if (email.senderAuth.required) {
      const verdict = senderVerdict(message.auth ?? emptyEvidence(), message.from, email.senderAuth);
      if (!verdict.authenticated) throw new HttpError(403, `sender not authenticated: ${verdict.reason}`);
    }
    const limited = await email.senderLimiter.take(message.from);
    if (!limited.ok)
      throw new HttpError(
        429,
        `too many emails from ${message.from}; retry in ${limited.retryAfterS} s`,
        { retryAfterSeconds: limited.retryAfterS },
        { 'retry-after': String(limited.retryAfterS) },
      );
    const key = projectForSender(email.routes, message.from);
    if (!key) throw new HttpError(422, `no project takes email from ${message.from}`);
    const project = await deps.prisma.project.findUnique({ where: { key }, select: { id: true, key: true } });
    if (!project) throw new HttpError(422, `sender ${message.from} maps to unknown project ${key}`);
    accepted(res, project.key, message, await take(deps, project, message));
  });

  router.post('/webhook', express.urlencoded({ extended: false, limit: '1mb', verify: keepRawBody }), refuseUnstorableInput, async (req, res) => {
    const { project } = await authenticateIntake(deps.prisma, req, auth);
    const message = await parseOr400(() => parseWebhook(req.body));
    accepted(res, project.key, message, await take(deps, project, message));
  });

  return router;
}
