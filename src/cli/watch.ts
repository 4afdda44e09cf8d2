/**
 * `bugfix watch`: the live progress line of a fix until it ends. On a terminal the line is
 * redrawn in place; piped, a line is printed whenever it changes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { FixOutcome } from '../domain/fix/fix.js';
import type { PrismaClient } from '../db/prisma.js';
import { queryStatus, summarize } from '../fixes/fix-queries.js';
import { resolveFix } from '../fixes/resolve-fix.js';
import { firstLine } from './cli-context.js';
import { progressLine } from './format.js';

export async function watchFix(deps: { prisma: PrismaClient; temporal: Client }, ref: string, out: NodeJS.WriteStream, intervalMs: number): Promise<void> {
  const { workflowId, handle } = await resolveFix(deps, ref);
  const tty = out.isTTY === true;
  let last = '';
  const show = (line: string) => {
    if (tty) out.write(`\r\x1b[2K${line}`);
    else if (line !== last) out.write(`${line}\n`);
    last = line;
  };
  out.write(`watching ${workflowId}\n`);
  for (;;) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') break;
    const s = await queryStatus(deps.temporal, workflowId);
    const f = summarize(d);
    show(s ? progressLine(s) : `phase=${f.phase ?? '-'} iteration=${f.iteration ?? '-'} (waiting for a worker to answer)`);
    await sleep(intervalMs);
  }
  if (tty) out.write('\n');
  try {
    const o = (await handle.result()) as FixOutcome;
    out.write(
      `finished: ${o.status}${o.reason ? ` (${o.reason})` : ''} after ${o.iterations} iterations, cost $${o.costUsd.toFixed(4)}${o.pr ? `, PR ${o.pr.url}` : ''}\n`,
    );
  } catch (err) {
    out.write(`finished: ${(await handle.describe()).status.name} (${firstLine(err)})\n`);
  }
}
