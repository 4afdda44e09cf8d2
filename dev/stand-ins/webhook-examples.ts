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

/** Where a pull request's events happen, and who sends them. */
export interface PullTarget {
  repoFullName: string;
  prNumber: number;
  /** the PR's head branch */
  branch: string;
  sender: string;
}

/**
 * A review as GitHub delivers it: one `pull_request_review_comment` per inline comment, then the
 * `pull_request_review` (the examples, pointed at the PR; `review` and `comments` in GitHub's JSON,
 * e.g. from the stand-in's addReview).
 */
export function reviewWebhooks(
  at: PullTarget,
  review: Record<string, unknown>,
  comments: Array<Record<string, unknown>>,
): Array<{ event: string; payload: unknown }> {
  const onPull = <P extends { repository: { full_name: string; name: string }; sender: { login: string }; pull_request: { head: object } }>(p: P): P => {
    p.repository.full_name = at.repoFullName;
    p.repository.name = at.repoFullName.split('/')[1]!;
    p.sender.login = at.sender;
    Object.assign(p.pull_request, { number: at.prNumber, head: { ...p.pull_request.head, ref: at.branch } });
    return p;
  };
  const inline = comments.map((c) => {
    const payload = onPull(webhookExample('pull_request_review_comment.created'));
    Object.assign(payload.comment, c);
    return { event: 'pull_request_review_comment', payload };
  });
  const submitted = onPull(webhookExample('pull_request_review.submitted'));
  Object.assign(submitted.review, { ...review, state: 'changes_requested' });
  return [...inline, { event: 'pull_request_review', payload: submitted }];
}
