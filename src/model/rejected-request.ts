/** Requests the API refuses for good (bad request, auth, too large) must not be retried. */
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';

export function rejectedForGood(err: unknown): ApplicationFailure | null {
  if (!(err instanceof Anthropic.APIError) || err.status === undefined) return null;
  if (![400, 401, 403, 404, 413, 422].includes(err.status)) return null;
  return ApplicationFailure.nonRetryable(`model API rejected the request (${err.status}): ${err.message}`, 'ModelRequestRejected');
}
