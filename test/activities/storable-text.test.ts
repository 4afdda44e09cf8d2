/**
 * Issue #16: text from outside that must be kept — the triage model's verdict, a message's text,
 * reasons sent straight through Temporal, a fix's failure reason, an environment setup's output —
 * is stored even when it holds NUL (which PostgreSQL refuses in text and jsonb) or an unpaired
 * surrogate (which Prisma cannot send). Before, each of these writes failed, and its activity
 * retried until its schedule-to-close timeout. Against the real database.
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createFixRecordActivities } from '../../activities/fix-records.js';
import { createSafetyActivities } from '../../activities/safety.js';
import { createTriageActivities } from '../../activities/triage.js';
import { loadConfig } from '../../src/config.js';
import { storableText, withoutNul } from '../../src/db/jsonb.js';
import { createPrisma, Prisma } from '../../src/db/prisma.js';
import type { FixOutcome } from '../../src/domain/fix/fix.js';
import { ZERO_USAGE } from '../../src/domain/fix/pricing.js';
import type { TriageInput } from '../../src/domain/organisation/triage-verdict.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { recordBuilding, recordBuilt, recordFailed } from '../../src/sandbox/environment-images.js';
import { connectClient } from '../../src/temporal/connect.js';
import { receiveDelivery } from '../../src/github/webhook-intake.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
const suffix = Math.random().toString(36).slice(2, 8);
const projectKey = `storable-${suffix}`;
let projectId: string;
const NUL = 'before\u0000after';
const LONE = 'half \ud83d of an emoji';

beforeAll(async () => {
  temporal = await connectClient();
  projectId = (await upsertProject(prisma, { key: projectKey, name: 'Storable', repoOwner: 'acme', repoName: `storable-${suffix}` })).id;
});

afterAll(async () => {
  for (const b of await prisma.bugReport.findMany({ where: { projectId } }))
    await temporal.workflow
      .getHandle(b.workflowId)
      .terminate('test cleanup')
      .catch(() => undefined);
  await prisma.safetyEvent.deleteMany({ where: { OR: [{ projectId }, { workflowId: { startsWith: `storable-${suffix}` } }] } });
  await prisma.environmentImage.deleteMany({ where: { projectKey } });
  await prisma.project.deleteMany({ where: { key: projectKey } });
  await temporal.connection.close();
  await prisma.$disconnect();
});

describe('withoutNul', () => {
  test('NUL becomes U+2400 and an unpaired surrogate U+FFFD, in values and keys; pairs, dates and decimals are kept', () => {
    const when = new Date(0);
    const cost = new Prisma.Decimal('1.5');
    expect(withoutNul({ [NUL]: [NUL, LONE, '😀'], when, cost, n: 1 })).toEqual({
      'before\u2400after': ['before\u2400after', 'half \ufffd of an emoji', '😀'],
      when,
      cost,
      n: 1,
    });
    expect(storableText('\udc00\ud800')).toBe('\ufffd\ufffd');
  });
});

describe('stored despite NUL and unpaired surrogates', () => {
  const input = (id: string): TriageInput => ({
    projectId,
    projectKey,
    source: 'email',
    from: `jane${LONE}@example.com`,
    subject: `Subject ${NUL}`,
    text: `Body ${NUL} ${LONE}`,
    externalId: `storable-${id}`,
  });

  test('a triaged bug: the model verdict and the message are filed', async () => {
    const { fileTriagedBug } = createTriageActivities({ prisma, anthropic: new Anthropic({ apiKey: 'unused' }) });
    const verdict = { isBug: true, reason: 'r', title: `Title ${NUL}`, description: `Described ${LONE}`, steps: `1. ${NUL}`, priority: 'LOW' as const };
    const filed = (await new MockActivityEnvironment({}, { client: temporal }).run(fileTriagedBug, { input: input(`bug-${suffix}`), verdict })) as {
      bugId: string;
    };
    const bug = await prisma.bugReport.findUniqueOrThrow({ where: { id: filed.bugId } });
    expect(bug).toMatchObject({
      title: 'Title before\u2400after',
      description: 'Described half \ufffd of an emoji',
      reproductionSteps: '1. before\u2400after',
      reporter: 'janehalf \ufffd of an emoji@example.com',
    });
  });

  test('a non-bug message is recorded', async () => {
    const { recordNonBug } = createTriageActivities({ prisma, anthropic: new Anthropic({ apiKey: 'unused' }) });
    const triageWorkflowId = `storable-${suffix}-triage`;
    await recordNonBug({ input: input(`nonbug-${suffix}`), reason: `not a bug ${NUL}`, triageWorkflowId });
    const row = await prisma.safetyEvent.findFirstOrThrow({ where: { workflowId: triageWorkflowId } });
    expect(row.message).toBe('not a bug before\u2400after');
    expect(row.details).toMatchObject({ subject: 'Subject before\u2400after', text: 'Body before\u2400after half \ufffd of an emoji' });
  });

  test('a kill switch reason sent through Temporal (CLI) is recorded', async () => {
    const id = randomUUID();
    await createSafetyActivities({ prisma }).recordSafetyEvent({
      id,
      kind: 'kill_switch_activated',
      severity: 'critical',
      message: `stop ${NUL}`,
      actor: `ops${LONE}`,
      projectKey,
      details: { [NUL]: LONE },
    });
    const row = await prisma.safetyEvent.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ message: 'stop before\u2400after', details: { 'before\u2400after': 'half \ufffd of an emoji' } });
  });

  test("a fix's failure reason (git or install stderr) is recorded", async () => {
    const bug = await prisma.bugReport.create({
      data: { projectId, externalId: `outcome-${suffix}`, workflowId: `storable-${suffix}-fix`, title: 'Outcome', description: 'x' },
    });
    // The rest of an outcome is not read by recordOutcome.
    const outcome = { status: 'failed', reason: `git push failed: ${NUL}`, iterations: 1, usage: ZERO_USAGE, costUsd: 0 } as FixOutcome;
    await createFixRecordActivities({ prisma }).recordOutcome({ bugId: bug.id, outcome });
    expect((await prisma.bugReport.findUniqueOrThrow({ where: { id: bug.id } })).statusReason).toBe('git push failed: before\u2400after');
  });

  test("an environment setup's output is recorded, built or failed", async () => {
    const record = { host: `storable-${suffix}`, projectKey, tag: 't', baseSha: 'a'.repeat(40), toolchainImage: 'i' };
    await recordBuilding(prisma, { ...record, key: 'built' });
    await recordBuilt(prisma, record.host, 'built', { imageId: 'sha256:x', sizeBytes: 1, setupMs: 1, egress: [{ host: NUL }], outputTail: `npm ${NUL}` });
    await recordBuilding(prisma, { ...record, key: 'failed' });
    await recordFailed(prisma, record.host, 'failed', `setup failed: ${LONE}`, [{ [NUL]: true }]);
    const rows = await prisma.environmentImage.findMany({ where: { host: record.host }, orderBy: { key: 'asc' } });
    expect(rows.map((r) => [r.key, r.status, r.outputTail ?? r.error, r.egress])).toEqual([
      ['built', 'ready', 'npm before\u2400after', [{ host: 'before\u2400after' }]],
      ['failed', 'failed', 'setup failed: half \ufffd of an emoji', [{ 'before\u2400after': true }]],
    ]);
  });

  test('a GitHub delivery whose names and reason hold NUL is stored and answered (ignored, with the reason)', async () => {
    const id = `storable-${suffix}-delivery`;
    const payload = { action: 'opened', repository: { full_name: `acme/${NUL}` }, sender: { login: LONE }, issue: { number: 1 } };
    const deps = { prisma, temporal, botLogin: 'bugfix-bot', log: {} };
    const answer = await receiveDelivery(deps, { id, event: 'issues', payload });
    expect(answer).toEqual({ status: 202, body: { delivery: id, ignored: 'no project for repository acme/before\u2400after' } });
    const row = await prisma.gitHubDelivery.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ repoFullName: 'acme/before\u2400after', sender: 'half \ufffd of an emoji', outcome: 'ignored' });
    await prisma.gitHubDelivery.delete({ where: { id } });
  });
});
