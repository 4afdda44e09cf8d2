/**
 * POST /api/github/webhook: GitHub's webhook deliveries (a repository's webhook or a GitHub App's).
 * The signature (X-Hub-Signature-256, HMAC of the exact body with the webhook secret) is checked
 * with @octokit/webhooks before anything is read or stored; then the delivery is stored once under
 * X-GitHub-Delivery and answered at once (src/github/webhook-intake.ts).
 */
import { Webhooks } from '@octokit/webhooks';
import express, { Router } from 'express';
import { receiveDelivery, type WebhookIntakeDeps } from '../github/webhook-intake.js';
import { HttpError } from './error-handler.js';

export interface GitHubWebhookSettings {
  /** unset: the endpoint answers 503 (not configured) */
  secret?: string;
  botLogin: string;
  installationId?: number;
  rounds?: { maxRounds: number; debounceMs: number };
}

/** GitHub's own limit on a delivery's payload. */
const MAX_PAYLOAD = '25mb';
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;

export function githubWebhookRouter(deps: Omit<WebhookIntakeDeps, 'botLogin' | 'installationId' | 'rounds'>, settings: GitHubWebhookSettings): Router {
  const router = Router();
  const webhooks = settings.secret ? new Webhooks({ secret: settings.secret }) : undefined;
  const intake: WebhookIntakeDeps = { ...deps, botLogin: settings.botLogin, installationId: settings.installationId, rounds: settings.rounds };

  router.post('/webhook', express.raw({ type: () => true, limit: MAX_PAYLOAD }), async (req, res) => {
    if (!webhooks) throw new HttpError(503, 'GitHub webhooks are not configured (GITHUB_WEBHOOK_SECRET)');
    const signature = req.header('x-hub-signature-256');
    if (!signature) throw new HttpError(401, 'missing X-Hub-Signature-256: set a secret on the webhook');
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    if (!(await webhooks.verify(body, signature).catch(() => false))) throw new HttpError(401, 'X-Hub-Signature-256 does not match the body');

    const event = req.header('x-github-event');
    const id = req.header('x-github-delivery');
    if (!event) throw new HttpError(400, 'missing X-GitHub-Event');
    if (!id || !DELIVERY_ID.test(id)) throw new HttpError(400, 'missing or malformed X-GitHub-Delivery');
    if (req.is('application/x-www-form-urlencoded')) throw new HttpError(415, 'set the webhook content type to application/json');
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'payload is not valid JSON');
    }
    if (event === 'ping') return void res.status(200).json({ delivery: id, pong: true });
    const answer = await receiveDelivery(intake, { id, event, payload });
    res.status(answer.status).json(answer.body);
  });
  return router;
}
