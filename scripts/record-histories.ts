/**
 * Records histories of real fixes for the replay test (test/workflows/replay.test.ts): a fix that
 * opens a PR, one killed mid-iteration, one that continues as new. Re-record deliberately, after
 * an intended workflow change guarded by patched(): `npx tsx scripts/record-histories.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import proto from '@temporalio/proto';

// A CommonJS module: its namespace comes through the default export.
const { temporal } = proto;
import { PROJECT_ROOT } from '../src/config.js';
import type { FixInput } from '../src/domain/fix/fix.js';
import { taskQueues } from '../temporal.config.js';
import { killSignal, statusQuery } from '../workflows/bug-fix/messages.js';
import { startStack } from '../dev/local-stack.js';
import { runMain } from '../dev/run-main.js';
import { RECORDING_KEYS } from './record-histories-key.js';
import { createFixtureProject } from '../dev/fixture-remotes.js';
import { paginationScenario } from '../dev/scenarios/pagination.js';

const OUT = path.join(PROJECT_ROOT, 'test', 'histories');

async function main(): Promise<void> {
  // Payloads in the recordings are encrypted with a fixed test key the replay test also knows.
  process.env.BUGFIX_PAYLOAD_KEYS = RECORDING_KEYS;
  const stack = await startStack({ script: paginationScenario, temporal: 'ephemeral', httpPort: 0 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-record-'));
  try {
    const suffix = Date.now().toString(36);
    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: `record-${suffix}`, repo: 'shop', dir: tmp });
    const run = async (name: string, extra: Partial<FixInput>, during?: (h: ReturnType<typeof stack.temporal.workflow.getHandle>) => Promise<void>) => {
      const workflowId = `bugfix-record-${suffix}-${name}`;
      const bug = await stack.prisma.bugReport.create({
        data: { projectId: project.id, externalId: name, workflowId, title: 'Page 1 skips items', description: 'Pages are shifted by one.' },
      });
      const handle = await stack.temporal.workflow.start('bugFixWorkflow', {
        taskQueue: taskQueues.main,
        workflowId,
        args: [{ bugId: bug.id, projectId: project.id, projectKey: project.key, ...extra } satisfies FixInput],
      });
      await during?.(handle);
      await handle.result().catch(() => undefined);
      // The first run's history: the one a changed workflow must still replay.
      const first = stack.temporal.workflow.getHandle(workflowId, handle.firstExecutionRunId);
      // Binary protobuf: exact, and independent of the JSON mapping of any one SDK version.
      fs.writeFileSync(path.join(OUT, `${name}.history.pb`), temporal.api.history.v1.History.encode(await first.fetchHistory()).finish());
      console.log(`recorded ${name}`);
    };
    await run('pr-created', {});
    await run('killed', {}, async (h) => {
      while ((await h.query(statusQuery)).iteration < 3) await new Promise((r) => setTimeout(r, 50));
      await h.signal(killSignal, { reason: 'recording', actor: 'recorder' });
    });
    await run('continued-as-new', { historyLimit: 40 });
  } finally {
    await stack.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
