/**
 * callModel's ledger against real PostgreSQL and the Anthropic stand-in: every call the provider
 * answered is a ledger row, including the answer of an attempt that lost the race to store its
 * turn (two attempts of one call overlapping, as when an attempt times out across a Temporal
 * restart while it still runs; found by `npm run chaos`).
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createModelActivities } from '../../activities/model.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { startAnthropicStandIn, type AnthropicStandIn } from '../stand-ins/anthropic.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const suffix = randomUUID().slice(0, 8);
const workflowId = `model-ledger-${suffix}`;
let standIn: AnthropicStandIn;
let bugId: string;

beforeAll(async () => {
  standIn = await startAnthropicStandIn(() => [{ type: 'tool_use', name: 'list_files', input: {} }]);
  const project = await upsertProject(prisma, { key: `ml-${suffix}`, name: 'Ledger', repoOwner: 'acme', repoName: `ml-${suffix}` });
  bugId = (await prisma.bugReport.create({ data: { projectId: project.id, externalId: suffix, title: 'Two attempts', description: 'd', workflowId } })).id;
});

afterAll(async () => {
  await prisma.ledgerEntry.deleteMany({ where: { workflowId } });
  await prisma.agentTurn.deleteMany({ where: { workflowId } });
  await prisma.project.deleteMany({ where: { key: `ml-${suffix}` } });
  await standIn.close();
  await prisma.$disconnect();
});

test('two overlapping attempts of one call: one turn, and both billed answers in the ledger', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  standIn.setDelay(300); // both requests are in flight before either answer is stored
  const input = { workflowId, bugId, iteration: 1, notes: [] };
  const [a, b] = await Promise.all([callModel(input), callModel(input)]);
  expect(a).toEqual(b); // both attempts return the stored turn

  expect(standIn.answered).toHaveLength(2);
  expect(await prisma.agentTurn.count({ where: { workflowId } })).toBe(1);
  const ledger = await prisma.ledgerEntry.findMany({ where: { workflowId } });
  expect(ledger.map((l) => l.providerRequestId).sort()).toEqual(standIn.answered.map((c) => c.requestId).sort());
});
