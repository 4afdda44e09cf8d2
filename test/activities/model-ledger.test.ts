/**
 * callModel's ledger against real PostgreSQL and the Anthropic stand-in: every call the provider
 * answered is a ledger row, including the answer of an attempt that lost the race to store its
 * turn (two attempts of one call overlapping, as when an attempt times out across a Temporal
 * restart while it still runs; found by `npm run chaos`).
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { callReservations } from '../../src/model/call-reservations.js';
import { matchLedger } from '../../bench/ledger-match.js';
import { createModelActivities, EMPTY_REPLY_TEXT, type CallModelResult } from '../../activities/model.js';
import { loadConfig } from '../../src/config.js';
import { COST_UNITS_PER_USD, costUnits, priceFor } from '../../src/domain/fix/pricing.js';
import { createPrisma, type Prisma } from '../../src/db/prisma.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { startAnthropicStandIn, type AnthropicStandIn } from '../../dev/stand-ins/anthropic-api.js';
import { listenForSwitches, notifySwitch, SpendGuard } from '../../src/safety/spend-guard.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const suffix = randomUUID().slice(0, 8);
const workflowId = `model-ledger-${suffix}`;
let standIn: AnthropicStandIn;
const unitsOf = (rows: Array<{ costUsd: { toString(): string } }>) =>
  rows.reduce((sum, r) => sum + Math.round(Number(r.costUsd.toString()) * COST_UNITS_PER_USD), 0);
let bugId: string;

beforeAll(async () => {
  standIn = await startAnthropicStandIn(() => [{ type: 'tool_use', name: 'list_files', input: {} }]);
  const project = await upsertProject(prisma, { key: `ml-${suffix}`, name: 'Ledger', repoOwner: 'acme', repoName: `ml-${suffix}` });
  bugId = (await prisma.bugReport.create({ data: { projectId: project.id, externalId: suffix, title: 'Two attempts', description: 'd', workflowId } })).id;
});

afterAll(async () => {
  await prisma.ledgerEntry.deleteMany({ where: { workflowId: { startsWith: workflowId } } });
  await prisma.agentTurn.deleteMany({ where: { workflowId: { startsWith: workflowId } } });
  await prisma.agentCondensation.deleteMany({ where: { workflowId: { startsWith: workflowId } } });
  await prisma.project.deleteMany({ where: { key: `ml-${suffix}` } });
  await standIn.close();
  await prisma.$disconnect();
});

test('two overlapping attempts of one call: one turn, and both billed answers in the ledger', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  standIn.setDelay(300); // both requests are in flight before either answer is stored
  const input = { workflowId, bugId, iteration: 1, notes: [] };
  const [{ costUnits: unitsA, ...a }, { costUnits: unitsB, ...b }] = await Promise.all([callModel(input), callModel(input)]);
  expect(a).toEqual(b); // both attempts return the stored turn

  expect(standIn.answered).toHaveLength(2);
  expect(await prisma.agentTurn.count({ where: { workflowId } })).toBe(1);
  const ledger = await prisma.ledgerEntry.findMany({ where: { workflowId } });
  expect(ledger.map((l) => l.providerRequestId).sort()).toEqual(standIn.answered.map((c) => c.requestId).sort());
  // The attempt that lost the race answers for both billed calls: the fix's budget sees them.
  expect(Math.max(unitsA, unitsB)).toBe(unitsOf(ledger));
});

test('an attempt that died in flight is counted: the next attempt turns its reservation into a lost call priced like the previous one', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  standIn.setDelay(0);
  const call = { workflowId, bugId, iteration: 2, notes: [] };
  // Attempt 1 reserved its call and was SIGKILLed before the answer was stored.
  const project = await prisma.bugReport.findUniqueOrThrow({ where: { id: bugId }, select: { projectId: true } });
  await callReservations(prisma, { workflowId, iteration: 2, bugId, projectId: project.projectId, model: 'claude-sonnet-5-5' }).reserve(1);
  const previous = await prisma.ledgerEntry.findFirstOrThrow({ where: { workflowId, kind: 'answered' }, orderBy: { createdAt: 'desc' } });

  const result = (await new MockActivityEnvironment({ attempt: 2 }).run(callModel, call)) as CallModelResult;
  const rows = await prisma.ledgerEntry.findMany({ where: { workflowId, iteration: 2 } });
  expect(result.costUnits).toBe(unitsOf(rows)); // the lost call counts against the fix's budget too
  expect(rows.map((r) => r.kind).sort()).toEqual(['answered', 'lost']);
  const lost = rows.find((r) => r.kind === 'lost')!;
  expect(lost.costUsd.toString()).toBe(previous.costUsd.toString());
  expect(rows.find((r) => r.kind === 'answered')!.providerRequestId).toBe(standIn.answered.at(-1)!.requestId);
});

test('a call answered but never stored is matched one to one to the lost row of the reservation it carried', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  standIn.setDelay(0);
  const project = await prisma.bugReport.findUniqueOrThrow({ where: { id: bugId }, select: { projectId: true } });
  const reservations = callReservations(prisma, { workflowId, iteration: 5, bugId, projectId: project.projectId, model: 'claude-sonnet-5-5' });
  // Attempt 1 reserved, was answered, and its worker died before the commit.
  await reservations.reserve(1);
  const before = standIn.answered.length;
  await anthropic.messages.create(
    { model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] },
    { headers: reservations.requestHeaders(1) },
  );
  await new MockActivityEnvironment({ attempt: 2 }).run(callModel, { workflowId, bugId, iteration: 5, notes: [] });

  const calls = standIn.answered.slice(before);
  expect(calls.map((c) => c.callKey)).toEqual([reservations.key(1), reservations.key(2)]);
  const rows = await prisma.ledgerEntry.findMany({ where: { workflowId, iteration: 5 } });
  const match = matchLedger(calls, rows);
  expect(match).toMatchObject({ mismatches: 0, coveredByLost: 1, unansweredLost: 0 });
  // Without the lost row, the answered call would be unbilled: the matcher can fail.
  expect(
    matchLedger(
      calls,
      rows.filter((r) => r.kind !== 'lost'),
    ).unbilled.map((c) => c.requestId),
  ).toEqual([calls[0]!.requestId]);
  // A second answer carrying the same reservation key is not covered twice.
  expect(matchLedger([...calls, { ...calls[0]!, requestId: 'req_again' }], rows).mismatches).toBe(1);
});

test('an error answer is not billed, and an aborted call is counted as lost', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  standIn.failNext(529, 1);
  await expect(callModel({ workflowId, bugId, iteration: 3, notes: [] })).rejects.toThrow();
  expect(await prisma.ledgerEntry.count({ where: { workflowId, iteration: 3 } })).toBe(0);

  standIn.setDelay(5000);
  const env = new MockActivityEnvironment({ attempt: 1 });
  const aborted = env.run(callModel, { workflowId, bugId, iteration: 3, notes: [] });
  await expect.poll(() => standIn.inFlight(), { timeout: 10_000 }).toBe(1);
  env.cancel();
  await expect(aborted).rejects.toThrow();
  standIn.setDelay(0);
  expect((await prisma.ledgerEntry.findMany({ where: { workflowId, iteration: 3 } })).map((r) => r.kind)).toEqual(['lost']);
});

test('an answer with a NUL in a tool input is stored (shown as U+2400) and billed, not lost', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  standIn.setScript(() => [{ type: 'tool_use', name: 'run_command', input: { command: 'printf "a\u0000b"' } }]);
  try {
    const result = await callModel({ workflowId, bugId, iteration: 4, notes: [] });
    expect(result.toolNames).toEqual(['run_command']);
    const turn = await prisma.agentTurn.findUniqueOrThrow({ where: { workflowId_iteration: { workflowId, iteration: 4 } } });
    expect(JSON.stringify(turn.response)).toContain('printf \\"a\u2400b\\"');
    expect(await prisma.ledgerEntry.count({ where: { workflowId, iteration: 4, kind: 'answered' } })).toBe(1);
  } finally {
    standIn.setScript(() => [{ type: 'tool_use', name: 'list_files', input: {} }]);
  }
});

/** A bug of its own (its own workflow id), for a conversation that starts afresh. */
async function freshBug(name: string): Promise<{ workflowId: string; bugId: string }> {
  const { projectId } = await prisma.bugReport.findUniqueOrThrow({ where: { id: bugId }, select: { projectId: true } });
  const id = `${workflowId}-${name}`;
  const bug = await prisma.bugReport.create({ data: { projectId, externalId: `${suffix}-${name}`, title: name, description: 'd', workflowId: id } });
  return { workflowId: id, bugId: bug.id };
}

test('an empty answer (content: []) or a blank one does not end the fix: it goes back as a placeholder, never as an empty message', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  // The stand-in refuses an empty message the way the API does (400, which the product never retries).
  const refused = anthropic.messages.create({
    model: 'm',
    max_tokens: 10,
    messages: [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: [] },
      { role: 'user', content: 'b' },
    ],
  });
  await expect(refused).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/all messages must have non-empty content/) });

  const fix = await freshBug('empty');
  standIn.setScript((_req, turn) => (turn === 0 ? [] : turn === 1 ? [{ type: 'text', text: ' \n' }] : [{ type: 'tool_use', name: 'list_files', input: {} }]));
  try {
    expect(await callModel({ ...fix, iteration: 1, notes: [] })).toMatchObject({ toolCallCount: 0, stopReason: 'end_turn' });
    expect(await callModel({ ...fix, iteration: 2, notes: [] })).toMatchObject({ toolCallCount: 0, stopReason: 'end_turn' });
    expect(await callModel({ ...fix, iteration: 3, notes: [] })).toMatchObject({ toolNames: ['list_files'] });
    const sent = standIn.received.at(-1)!.messages;
    expect(sent.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      [{ type: 'text', text: EMPTY_REPLY_TEXT }],
      [{ type: 'text', text: EMPTY_REPLY_TEXT }],
    ]);
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
  } finally {
    standIn.setScript(() => [{ type: 'tool_use', name: 'list_files', input: {} }]);
  }
});

test('after a turn of 12 parallel tool calls, the next request still reads the conversation so far from the prompt cache', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024 });
  const fix = await freshBug('wide');
  // More blocks in one turn (12 calls, 12 results) than the cache looks back from a breakpoint (20).
  standIn.setScript(() => Array.from({ length: 12 }, (_, i) => ({ type: 'tool_use' as const, name: 'read_file', input: { path: `src/f${i}.js` } })));
  try {
    for (const iteration of [1, 2, 3]) {
      await callModel({ ...fix, iteration, notes: [] });
      const turn = await prisma.agentTurn.findUniqueOrThrow({ where: { workflowId_iteration: { workflowId: fix.workflowId, iteration } } });
      const calls = (turn.response as unknown as Anthropic.Message).content.filter((b) => b.type === 'tool_use');
      const results = calls.map((c) => ({ type: 'tool_result', tool_use_id: c.id, content: `1\tconst value${c.id} = ${'x'.repeat(200)};` }));
      await prisma.agentTurn.update({ where: { id: turn.id }, data: { followUp: results as Prisma.InputJsonValue } });
    }
    const [, second, third] = standIn.answered.slice(-3).map((a) => a.usage);
    // The third request reads everything the second one sent (all of it cached at its last breakpoint).
    expect(second!.input_tokens).toBe(0);
    expect(third!.cache_read_input_tokens).toBe(second!.cache_read_input_tokens + second!.cache_creation_input_tokens);
    for (const req of standIn.received.slice(-3)) {
      const marked = [
        ...(req.tools ?? []),
        ...(req.system as object[]),
        ...req.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content)),
      ].filter((b) => 'cache_control' in b);
      expect(marked.length).toBeLessThanOrEqual(4); // the API's limit
    }
  } finally {
    standIn.setScript(() => [{ type: 'tool_use', name: 'list_files', input: {} }]);
  }
});

test('max_tokens is capped by what the fix has left, and a call that cannot be useful is not made', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 16_384 });
  const fix = await freshBug('capped');
  const plenty = { tokens: 1_000_000, costUnits: 8 * COST_UNITS_PER_USD };
  const sent = () => standIn.received.at(-1)!.max_tokens;

  await callModel({ ...fix, iteration: 1, notes: [], budgetLeft: plenty });
  expect(sent()).toBe(16_384);
  const first = standIn.answered.at(-1)!.usage;
  const prompt = first.input_tokens + first.cache_creation_input_tokens + first.cache_read_input_tokens;
  // The next prompt is estimated by this one: what is left after it bounds the answer.
  await callModel({ ...fix, iteration: 2, notes: [], budgetLeft: { ...plenty, tokens: prompt + 3000 } });
  expect(sent()).toBe(3000);
  const second = standIn.answered.at(-1)!.usage;
  const promptUnits = costUnits('claude-sonnet-5-5', {
    inputTokens: second.input_tokens,
    outputTokens: 0,
    cacheCreationTokens: second.cache_creation_input_tokens,
    cacheReadTokens: second.cache_read_input_tokens,
  });
  // Once the prompt is paid, the dollars left buy just under 2,501 output tokens.
  const perToken = priceFor('claude-sonnet-5-5').output;
  await callModel({ ...fix, iteration: 3, notes: [], budgetLeft: { ...plenty, costUnits: promptUnits + 2500 * perToken + perToken - 1 } });
  expect(sent()).toBe(2500);

  const requests = standIn.received.length;
  const third = standIn.answered.at(-1)!.usage;
  const thirdPrompt = third.input_tokens + third.cache_creation_input_tokens + third.cache_read_input_tokens;
  const stopped = await callModel({ ...fix, iteration: 4, notes: [], budgetLeft: { ...plenty, tokens: thirdPrompt + 1023 } });
  expect(stopped).toMatchObject({
    toolCallCount: 0,
    costUnits: 0,
    budgetStop: expect.stringMatching(
      /^token budget exhausted \(\d+ tokens left; the next model call needs about \d+ for its prompt and 1024 for an answer\)$/,
    ),
  });
  const broke = await callModel({ ...fix, iteration: 4, notes: [], budgetLeft: { ...plenty, costUnits: 1000 * perToken } });
  expect(broke.budgetStop).toMatch(/^cost budget exhausted \(\$0\.0100 left; /);
  expect(standIn.received).toHaveLength(requests);
  expect(await prisma.ledgerEntry.count({ where: { workflowId: fix.workflowId, iteration: 4 } })).toBe(0);
  expect(await prisma.agentTurn.count({ where: { workflowId: fix.workflowId, iteration: 4 } })).toBe(0);
});

test('a prompt nearing half the context window is condensed first: a summary call in the ledger, then a short prompt; a retry pays for nothing', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const condense = { contextWindowTokens: 30_000, condenseAtShare: 0.5 };
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024, condense });
  const fix = await freshBug('long');
  standIn.setScript((_req, turn) => [{ type: 'tool_use', name: 'run_command', input: { command: `seq ${turn} 6000` } }]);
  try {
    let condensedAt = 0;
    const results: CallModelResult[] = [];
    for (let iteration = 1; iteration <= 8 && !condensedAt; iteration++) {
      const before = standIn.answered.length;
      results.push(await callModel({ ...fix, iteration, notes: [] }));
      if (standIn.answered.slice(before).some((a) => a.purpose === 'condense')) condensedAt = iteration;
      // What runTools would send back: a large output (the tool output limit's worth).
      const turn = await prisma.agentTurn.findUniqueOrThrow({ where: { workflowId_iteration: { workflowId: fix.workflowId, iteration } } });
      const call = (turn.response as unknown as Anthropic.Message).content.find((b) => b.type === 'tool_use')!;
      await prisma.agentTurn.update({
        where: { id: turn.id },
        data: { followUp: [{ type: 'tool_result', tool_use_id: call.id, content: `${iteration}\n`.repeat(10_000) }] },
      });
    }
    expect(condensedAt).toBe(3); // 8.9K tokens sent, then a 20K-character output: the next would pass 15K

    const [summaryCall, agentCall] = standIn.answered.slice(-2);
    const [summaryRequest, agentRequest] = standIn.received.slice(-2);
    expect([summaryCall!.purpose, agentCall!.purpose]).toEqual(['condense', 'agent']);
    // The previous turn's request with the summary asked for last: all but the request read from the cache.
    expect(summaryRequest!.messages).toHaveLength(standIn.received.at(-3)!.messages.length);
    expect(summaryCall!.usage.cache_read_input_tokens).toBeGreaterThan(0);
    expect(summaryCall!.usage.input_tokens + summaryCall!.usage.cache_creation_input_tokens).toBeLessThan(300);
    // Then the turn itself: the bug report with the summary, and the latest turn verbatim.
    expect(agentRequest!.messages).toHaveLength(3);
    const opening = agentRequest!.messages[0]!.content as Array<{ text: string }>;
    expect(opening[1]!.text).toContain(`<earlier_turns_summary turns="${condensedAt - 2}">`);
    const prompt = (c: typeof agentCall) => c!.usage.input_tokens + c!.usage.cache_read_input_tokens + c!.usage.cache_creation_input_tokens;
    // Uncondensed, this prompt would have held 16.5K tokens.
    for (const call of standIn.answered.slice(-condensedAt - 1)) expect(prompt(call)).toBeLessThanOrEqual(15_000);

    // The summary call is priced in the ledger under its own purpose, and in the turn's cost.
    const rows = await prisma.ledgerEntry.findMany({ where: { workflowId: fix.workflowId, iteration: condensedAt } });
    expect(rows.map((r) => r.purpose).sort()).toEqual(['agent', 'condense']);
    expect(results.at(-1)!.costUnits).toBe(unitsOf(rows));
    expect(results.at(-1)!.usage.cacheReadTokens).toBe(summaryCall!.usage.cache_read_input_tokens + agentCall!.usage.cache_read_input_tokens);
    // A retried attempt finds the stored turn and summary: no new call, the same figures.
    const sent = standIn.received.length;
    expect(await new MockActivityEnvironment({ attempt: 2 }).run(callModel, { ...fix, iteration: condensedAt, notes: [] })).toEqual(results.at(-1));
    expect(standIn.received.length).toBe(sent);
    // The transcript keeps every turn.
    expect(await prisma.agentTurn.count({ where: { workflowId: fix.workflowId } })).toBe(condensedAt);
  } finally {
    standIn.setScript(() => [{ type: 'tool_use', name: 'list_files', input: {} }]);
  }
});

test('a kill switch heard over PostgreSQL aborts the call in flight (counted as lost); the activity then ends with its cancellation', async () => {
  const anthropic = new Anthropic({ apiKey: 'stand-in-key', baseURL: standIn.url, maxRetries: 0 });
  const queue = `model-ledger-${suffix}`;
  const guard = new SpendGuard(queue);
  const listener = listenForSwitches(loadConfig().DATABASE_URL, prisma, guard, { warn: () => undefined });
  await listener.ready;
  const { callModel } = createModelActivities({ prisma, anthropic, model: 'claude-sonnet-5-5', maxTokens: 1024, spendGuard: guard });
  standIn.setDelay(60_000); // answered only if nothing stops it
  const abortedBefore = standIn.aborted;
  const env = new MockActivityEnvironment();
  const call = env.run(callModel, { workflowId, bugId, iteration: 40, notes: [] });
  const outcome = call.then(
    () => 'answered',
    (err: Error) => err.name,
  );
  await expect.poll(() => standIn.inFlight()).toBe(1);
  await notifySwitch(prisma, { action: 'on', taskQueue: queue, scope: `project:ml-${suffix}`, reason: 'runaway' });
  await expect.poll(() => standIn.aborted).toBe(abortedBefore + 1);
  // The call is stopped and billed as lost, but the activity waits for Temporal's kill to cancel it.
  expect((await prisma.ledgerEntry.findMany({ where: { workflowId, iteration: 40 } })).map((r) => r.kind)).toEqual(['lost']);
  env.cancel();
  expect(await outcome).toBe('CancelledFailure');
  // While the switch holds, a new call is refused before any request.
  const requests = standIn.received.length;
  const refused = new MockActivityEnvironment();
  const again = refused.run(callModel, { workflowId, bugId, iteration: 41, notes: [] }).catch((err: Error) => err.name);
  await new Promise((r) => setTimeout(r, 200));
  refused.cancel();
  expect(await again).toBe('CancelledFailure');
  expect(standIn.received.length).toBe(requests);
  standIn.setDelay(0);
  await listener.stop();
});
