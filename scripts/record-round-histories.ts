/**
 * Records histories of a follow-up round for the replay test (test/workflows/replay.test.ts): the
 * PR's workflow (githubPullWorkflow: a review, one round, the PR closed) and the round itself (a
 * bugFixWorkflow with `followUp`). Separate from scripts/record-histories.ts, whose recordings
 * predate the patches and must stay as they are. Re-record deliberately, after an intended change
 * guarded by patched(): `npx tsx scripts/record-round-histories.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import proto from '@temporalio/proto';

// A CommonJS module: its namespace comes through the default export.
const { temporal } = proto;
import { PROJECT_ROOT } from '../src/config.js';
import { startStack } from '../dev/local-stack.js';
import { runMain } from '../dev/run-main.js';
import { RECORDING_KEYS } from './record-histories-key.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import { reviewRoundScenario } from '../dev/scenarios/review-round.js';
import { sendGitHubWebhook } from '../dev/stand-ins/github-webhooks.js';

const OUT = path.join(PROJECT_ROOT, 'test', 'histories');
const SECRET = 'recording-secret';

const until = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 240_000) => {
  for (const end = Date.now() + timeoutMs; !(await check()); await new Promise((r) => setTimeout(r, 250)))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};

async function main(): Promise<void> {
  // Payloads in the recordings are encrypted with a fixed test key the replay test also knows.
  Object.assign(process.env, { BUGFIX_PAYLOAD_KEYS: RECORDING_KEYS, GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_ROUND_DEBOUNCE_MS: '1000' });
  const stack = await startStack({ script: reviewRoundScenario({ threads: 1 }), temporal: 'ephemeral', httpPort: 0 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-record-'));
  try {
    const repo = `shop-${Date.now().toString(36)}`;
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: repo, repo, dir: tmp });
    const github = stack.github!;
    github.setPermission('acme', repo, 'maintainer', 'write');
    const send = (event: string, payload: unknown) => sendGitHubWebhook({ url: `${stack.httpUrl}/api/github/webhook`, secret: SECRET, event, payload });
    const base = { repository: { full_name: `acme/${repo}`, name: repo }, sender: { login: 'maintainer', type: 'User' } };

    const filed = await send('issues', {
      ...base,
      action: 'labeled',
      label: { name: 'bugfix' },
      issue: { number: 7, title: 'Page 1 skips items', body: 'Pages are shifted by one.', state: 'open', html_url: '' },
    });
    await stack.temporal.workflow.getHandle(filed.body.issueWorkflowId as string).result();
    const bug = await stack.prisma.bugReport.findFirstOrThrow({ where: { projectId: project.id } });
    const pr = { number: bug.prNumber!, head: { ref: bug.fixBranch! } };

    const { comments } = github.addReview('acme', repo, pr.number, {
      user: 'maintainer',
      state: 'COMMENTED',
      comments: [{ path: 'src/paginate.js', line: 8, body: 'Please add this comment above the line: `pages are 1-based`' }],
    });
    const asked = await send('pull_request_review_comment', { ...base, action: 'created', pull_request: pr, comment: comments[0] });
    await until('the round', () => github.reviewComments('acme', repo, pr.number).some((c) => c.inReplyTo));
    github.closePull('acme', repo, pr.number, true);
    await send('pull_request', { ...base, action: 'closed', pull_request: { ...pr, merged: true } });

    const pull = stack.temporal.workflow.getHandle(asked.body.pullWorkflowId as string);
    await pull.result();
    const round = stack.temporal.workflow.getHandle(`${bug.workflowId}-round-1`);
    await round.result();
    // Binary protobuf: exact, and independent of the JSON mapping of any one SDK version.
    for (const [name, handle] of [
      ['github-pull', pull],
      ['follow-up-round', round],
    ] as const) {
      fs.writeFileSync(path.join(OUT, `${name}.history.pb`), temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish());
      console.log(`recorded ${name}`);
    }
  } finally {
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
