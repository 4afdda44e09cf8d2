import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { GuardedFetch } from './outbound-http.js';

/**
 * POSTs a JSON body signed with HMAC-SHA256 over `<timestamp>.<body>` (x-bugfix-signature), as
 * fix notices and organisation alerts both do, through the SSRF guard (outbound-http.ts). A 4xx
 * other than 429 is final; the rest is retried.
 */
export async function postSignedWebhook(send: GuardedFetch, url: string, secret: string, body: string, key: string): Promise<{ status: number }> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  const res = await send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-bugfix-timestamp': timestamp, 'x-bugfix-signature': `sha256=${signature}`, 'idempotency-key': key },
    body,
  });
  if (res.status >= 400 && res.status < 500 && res.status !== 429) {
    throw ApplicationFailure.nonRetryable(`webhook refused the notification: HTTP ${res.status}`, 'WebhookRejected');
  }
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  return { status: res.status };
}
