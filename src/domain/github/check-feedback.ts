/**
 * A failed check as the model reads it (pure): its name, conclusion and log, the log cut to its
 * head and tail (where a failure's cause and its summary usually are), inside a data block the
 * log cannot close.
 */
import { insideTag } from '../agent/prompt.js';
import { truncateMiddle } from '../agent/truncate.js';
import type { FailedCheck } from './pull-events.js';

const TAG = 'check_failure';
/** Per check: enough for a test runner's failures and summary, not a whole CI transcript. */
export const MAX_CHECK_LOG_CHARS = 12_000;

export interface CheckLog {
  name: string;
  conclusion: string;
  /** the check's output title/summary/text and its job logs, as fetched */
  log: string;
}

export function checkFailureBlock(args: { prNumber: number; round: number; checks: readonly CheckLog[] }): string {
  const parts = args.checks.map(
    (c) => `Check "${insideTag(TAG, c.name)}" concluded ${c.conclusion}. Its log:\n${insideTag(TAG, truncateMiddle(c.log, MAX_CHECK_LOG_CHARS))}`,
  );
  return `<${TAG} pull_request="${args.prNumber}" round="${args.round}">\n${parts.join('\n\n---\n\n')}\n</${TAG}>`;
}

/** The checks worth a round: failed on the PR's current head (a failure on an older head is stale), once each. */
export function currentFailures(checks: readonly FailedCheck[], headSha: string): FailedCheck[] {
  const seen = new Set<string>();
  return checks.filter((c) => {
    const key = `${c.source}:${c.id}`;
    if (c.headSha !== headSha || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
