/** Logs carry correlation ids: the SDK's lines through the adapter, and activity lines. */
import { Writable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { activityLog, PinoTemporalLogger } from '../../src/infra/log.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'trace' }, stream) };
}

describe('logs', () => {
  test('SDK lines keep their workflow ids, below-threshold and ignored lines are dropped', () => {
    const { lines, log } = capture();
    const sdk = new PinoTemporalLogger(log, 'WARN', ['No workflows registered']);
    sdk.info('Worker state changed', { taskQueue: 'q' });
    sdk.warn('No workflows registered, not polling for workflow tasks', {});
    sdk.warn('Activity failed', { workflowId: 'bugfix-shop-1', activityType: 'callModel', error: new Error('boom') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'Activity failed',
      workflowId: 'bugfix-shop-1',
      activityType: 'callModel',
      source: 'temporal-sdk',
      err: { message: 'boom' },
    });
  });

  test('activity lines carry the workflow, run, activity and attempt', async () => {
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'bugfix-shop-42', runId: 'run-1' }, activityType: 'deliverFix', attempt: 2 });
    const bindings = await env.run(async () => activityLog({ bugId: 'b-1' }).bindings());
    expect(bindings).toMatchObject({ workflowId: 'bugfix-shop-42', runId: 'run-1', activityType: 'deliverFix', attempt: 2, bugId: 'b-1' });
  });
});
