/**
 * Backpressure of the intake's outbox, against real PostgreSQL and a real Temporal server: while
 * the dispatcher's start queue holds 25 × its concurrency, POST /api/bugs waits (at most 500 ms)
 * for a start to go out before it stores the report, so answers do not run far ahead of starts.
 * A report is never refused for it: past the wait it is stored and answered all the same.
 */
import type { Client } from '@temporalio/client';
import request from 'supertest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { FixDispatcher } from '../../src/intake/fix-dispatcher.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';
import { endProjectFixes } from '../support/project-cleanup.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const suffix = Math.random().toString(36).slice(2, 8);
const projectKey = `backpressure-${suffix}`;
const quiet = { error: () => undefined, warn: () => undefined };
let temporal: Client;
let key: string;

beforeAll(async () => {
  temporal = await connectClient();
  const project = await upsertProject(prisma, { key: projectKey, name: 'Backpressure', repoOwner: 'acme', repoName: `backpressure-${suffix}` });
  key = await issueIntakeKey(prisma, project.id);
});

afterAll(async () => {
  await endProjectFixes(prisma, temporal, projectKey);
  await temporal.connection.close();
  await prisma.$disconnect();
});

test('a full start queue holds the next report until a start goes out, at most 500 ms, and never refuses it', async () => {
  // One start at a time, one every 4 s: the first goes out at once, the rest wait in the queue.
  // High-water mark: 25 × 1 queued starts.
  const dispatcher = new FixDispatcher({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: quiet }, { concurrency: 1, startsPerSecond: 0.25 });
  const app = createApp({
    prisma,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: quiet,
    dispatcher,
    intake: { rateLimit: { perSecond: 1000, burst: 1000 }, hmacMaxSkewSeconds: 300, emailRoutes: [] },
  });
  const file = async (i: number) => {
    const began = Date.now();
    const res = await request(app)
      .post('/api/bugs')
      .set('authorization', `Bearer ${key}`)
      .send({ title: `Queued ${i}`, description: 'd', priority: 'LOW', externalId: `bp-${i}-${suffix}` });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return { ms: Date.now() - began, bugId: res.body.bugId as string };
  };
  try {
    // The first is started at once; the next 25 fill the queue to its mark. None of them waits.
    const filling = [];
    for (let i = 0; i <= 25; i++) filling.push(await file(i));
    expect(Math.max(...filling.map((f) => f.ms))).toBeLessThan(400);

    // The queue is full and the next start is ~4 s away: this report waits the full 500 ms, then
    // is stored and answered all the same (the outbox starts it later).
    const held = await file(26);
    expect(held.ms).toBeGreaterThanOrEqual(480);
    expect(held.ms).toBeLessThan(3000);
    expect(await prisma.bugReport.count({ where: { id: held.bugId } })).toBe(1);

    // A longer wait ends when a start goes out (the rate lets one through ~4 s after the first),
    // not at its own limit; that second start is then recorded.
    const waited = Date.now();
    await dispatcher.room(20_000);
    expect(Date.now() - waited).toBeGreaterThanOrEqual(100);
    expect(Date.now() - waited).toBeLessThan(15_000);
    const startedRows = () => prisma.bugReport.count({ where: { project: { key: projectKey }, workflowStartedAt: { not: null } } });
    await expect.poll(startedRows, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
  } finally {
    await dispatcher.stop();
  }
});

test('room is immediate below the mark and for a stopped dispatcher', async () => {
  const dispatcher = new FixDispatcher({ prisma, temporal, temporalUiUrl: 'http://localhost:8233', log: quiet }, { concurrency: 1 });
  const began = Date.now();
  await dispatcher.room(5000);
  await dispatcher.stop();
  await dispatcher.room(5000);
  expect(Date.now() - began).toBeLessThan(1000);
});
