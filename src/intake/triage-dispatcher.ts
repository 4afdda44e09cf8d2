/**
 * The triage outbox: stored inbound messages whose triage is not started (workflowStartedAt
 * null) are started here. Intake answers 202 once the row is stored and hands it over
 * (enqueue); a poll picks up what an enqueue missed (Temporal down or slow, a process that died
 * between the insert and the start, a FAILED message put back by a redelivery or a retry).
 * Starting is idempotent (fixed workflow id, USE_EXISTING), so two dispatchers may race.
 */
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import type { PrismaClient } from '../db/prisma.js';
import { startStoredTriage, type InboundRow } from './inbound-store.js';

export interface TriageDispatcherDeps {
  prisma: PrismaClient;
  temporal: Client;
  log: { error: (obj: unknown, msg: string) => void; warn?: (obj: unknown, msg: string) => void };
  triageRetryWindowMs?: number;
}

export interface TriageDispatcherOptions {
  pollMs?: number;
  /** a row younger than this is left to the process that stored it (its enqueue is under way) */
  graceMs?: number;
  /** a start Temporal has not answered by then is given up and left for the next poll */
  startDeadlineMs?: number;
}

const POLL_BATCH = 100;

export class TriageDispatcher {
  private readonly pending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly startDeadlineMs: number;

  constructor(
    private readonly deps: TriageDispatcherDeps,
    opts: TriageDispatcherOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 2000;
    this.graceMs = opts.graceMs ?? 5000;
    this.startDeadlineMs = opts.startDeadlineMs ?? 10_000;
  }

  start(): this {
    this.stopped = false;
    if (!this.timer) {
      const tick = () => {
        this.poll()
          .catch((err: unknown) => this.deps.log.error({ err }, 'triage dispatcher: poll failed'))
          .finally(() => {
            if (this.timer) this.timer = setTimeout(tick, this.pollMs);
          });
      };
      this.timer = setTimeout(tick, 0);
    }
    return this;
  }

  /** Starts this message's triage now (the row is stored; a failure is left for the poll). */
  enqueue(row: InboundRow): void {
    if (this.stopped || this.pending.has(row.id)) return;
    this.pending.add(row.id);
    const run = this.deps.temporal
      .withDeadline(Date.now() + this.startDeadlineMs, () => startStoredTriage(this.deps, row))
      .catch((err: unknown) => this.deps.log.warn?.({ err, triageWorkflowId: row.triageWorkflowId }, 'triage dispatcher: start failed; the poll retries'))
      .finally(() => {
        this.pending.delete(row.id);
        this.inFlight.delete(run);
      });
    this.inFlight.add(run);
  }

  /** Stored messages not started after the grace period, oldest first. */
  async poll(graceMs = this.graceMs): Promise<number> {
    const rows = await this.deps.prisma.inboundMessage.findMany({
      where: { taskQueue: taskQueues.main, workflowStartedAt: null, updatedAt: { lt: new Date(Date.now() - graceMs) } },
      orderBy: { createdAt: 'asc' },
      take: POLL_BATCH,
    });
    const fresh = rows.filter((r) => !this.pending.has(r.id));
    for (const r of fresh) this.enqueue(r);
    return fresh.length;
  }

  /** Resolves once every start handed out so far has finished (started or left for the poll). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopped = true;
    await this.idle();
  }
}
