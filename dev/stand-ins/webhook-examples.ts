/**
 * GitHub's own example webhook payloads (@octokit/webhooks-examples), typed as the event they
 * are, so tests edit real payloads rather than ones written here.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { EmitterWebhookEvent, EmitterWebhookEventName } from '@octokit/webhooks';

interface Spec {
  name: string;
  examples: Array<{ action?: string }>;
}

const require = createRequire(import.meta.url);
const specs = JSON.parse(fs.readFileSync(require.resolve('@octokit/webhooks-examples'), 'utf8')) as Spec[];

type Payload<E extends EmitterWebhookEventName> = EmitterWebhookEvent<E>['payload'];

/** Every example of `event` (and `action`, when given), each a fresh copy. */
export function webhookExamples<E extends EmitterWebhookEventName>(name: E): Array<Payload<E>> {
  const [event, action] = name.split('.');
  const spec = specs.find((s) => s.name === event);
  if (!spec) throw new Error(`no examples for ${event}`);
  return spec.examples.filter((e) => !action || e.action === action).map((e) => structuredClone(e) as Payload<E>);
}

/** The first example of `event.action`. */
export function webhookExample<E extends EmitterWebhookEventName>(name: E): Payload<E> {
  const [first] = webhookExamples(name);
  if (!first) throw new Error(`no example for ${name}`);
  return first;
}

/** Every documented example of every event, with the event's name. */
export function allWebhookExamples(): Array<{ event: string; payload: { action?: string } }> {
  return specs.flatMap((s) => s.examples.map((payload) => ({ event: s.name, payload: structuredClone(payload) })));
}
