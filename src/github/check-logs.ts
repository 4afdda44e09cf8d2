/**
 * A failed check's log through the API: a check run's output (title, summary, text) and, for a
 * GitHub Actions check run, its job's log (GET /repos/{o}/{r}/actions/jobs/{id}/logs, a redirect
 * to the log that fetch follows); a workflow run's failed jobs' logs; a check suite is read as its
 * failed check runs (expandSuites). A log GitHub will not give
 * (expired, no permission) leaves what the output says.
 */
import type { FailedCheck } from '../domain/github/pull-events.js';
import type { CheckLog } from '../domain/github/check-feedback.js';
import type { GitHubClient } from '../infra/github.js';
import type { RepoRef } from './issues.js';

async function jobLog(github: GitHubClient, r: RepoRef, jobId: number): Promise<string | undefined> {
  try {
    const { data } = await github.rest.actions.downloadJobLogsForWorkflowRun({ ...r, job_id: jobId });
    return typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
  } catch {
    return undefined;
  }
}

/**
 * Check suites replaced by their failed check runs, so a failure reported both as a run and as
 * its suite is read once (none when they were re-run and pass now). A suite whose runs cannot be
 * listed stays as it is.
 */
export async function expandSuites(github: GitHubClient, r: RepoRef, checks: readonly FailedCheck[]): Promise<FailedCheck[]> {
  const out: FailedCheck[] = [];
  for (const c of checks) {
    if (c.source !== 'check_suite') {
      out.push(c);
      continue;
    }
    try {
      const runs = await github.paginate(github.rest.checks.listForSuite, { ...r, check_suite_id: c.id, filter: 'latest', per_page: 100 });
      const failed = runs.filter((x) => x.conclusion === 'failure' || x.conclusion === 'timed_out');
      out.push(...failed.map((x) => ({ source: 'check_run' as const, id: x.id, name: x.name, headSha: x.head_sha, conclusion: x.conclusion! })));
    } catch {
      out.push(c);
    }
  }
  return out;
}

export async function failedCheckLog(github: GitHubClient, r: RepoRef, check: FailedCheck): Promise<CheckLog> {
  if (check.source === 'check_run') {
    const { data } = await github.rest.checks.get({ ...r, check_run_id: check.id });
    const output = [data.output.title, data.output.summary, data.output.text].filter(Boolean).join('\n\n');
    const log = data.app?.slug === 'github-actions' ? await jobLog(github, r, check.id) : undefined;
    return { name: data.name, conclusion: data.conclusion ?? check.conclusion, log: [output, log].filter(Boolean).join('\n\n') || '(no output)' };
  }
  if (check.source === 'check_suite') {
    return { name: check.name, conclusion: check.conclusion, log: '(the check suite failed; its check runs could not be read)' };
  }
  const { data } = await github.rest.actions.listJobsForWorkflowRun({ ...r, run_id: check.id, filter: 'latest', per_page: 100 });
  const failed = data.jobs.filter((j) => j.conclusion === 'failure' || j.conclusion === 'timed_out');
  const logs = [];
  for (const j of failed.slice(0, 5)) logs.push(`== job ${j.name} (${j.conclusion}) ==\n${(await jobLog(github, r, j.id)) ?? '(log not available)'}`);
  return { name: check.name, conclusion: check.conclusion, log: logs.join('\n\n') || '(no failed job found)' };
}
