/**
 * Sends webhook deliveries the way GitHub does: JSON body, X-GitHub-Event, X-GitHub-Delivery (a
 * GUID), X-Hub-Signature-256 (HMAC-SHA256 of the exact body with the webhook's secret) and
 * GitHub's User-Agent. Used by tests, the local mode and bench:github against the real endpoint.
 */
import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';

export interface SentDelivery {
  id: string;
  status: number;
  body: Record<string, unknown>;
}

export async function sendGitHubWebhook(opts: {
  url: string;
  secret: string;
  event: string;
  payload: unknown;
  /** reuse an id to redeliver */
  id?: string;
}): Promise<SentDelivery> {
  const id = opts.id ?? randomUUID();
  const body = JSON.stringify(opts.payload);
  const res = await fetch(opts.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/stand-in',
      'x-github-event': opts.event,
      'x-github-delivery': id,
      'x-github-hook-id': '1',
      'x-hub-signature-256': await sign(opts.secret, body),
    },
    body,
  });
  return { id, status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}
