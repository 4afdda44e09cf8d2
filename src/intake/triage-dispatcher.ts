/**
 * The triage outbox: stored inbound messages whose triage is not started (workflowStartedAt
 * null) are started here. Intake answers 202 once the row is stored and hands it over
 * (enqueue); a poll picks up what an enqueue missed (Temporal down or slow, a process that died
 * between the insert and the start, a FAILED message put back by a redelivery or a retry).
 * Of several API processes exactly one starts each row: only under its claim (outbox-claim.ts).
 * (Starting is idempotent too: fixed workflow id, USE_EXISTING.)
 */
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { startStoredTriage, type InboundRow } from './inbound-store.js';
import { claimBatch, claimRow, holds, releaseClaim } from './outbox-claim.js';

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

  /** Whether a message stored now is claimed for this dispatcher when it is stored (not when stopped). */
  claimsOnInsert(): boolean {
    return !this.stopped;
  }

  /**
   * Starts this message's triage now (the row is stored; a failure is left for the poll).
   * `claim`: the lease this process holds on the row; without one it is claimed first, and left
   * alone if another process holds it.
   */
  enqueue(row: InboundRow, claim: Date | null = null): void {
    if (this.stopped || this.pending.has(row.id)) return;
    this.pending.add(row.id);
    const run = this.startClaimed(row, claim)
      .catch((err: unknown) => this.deps.log.warn?.({ err, triageWorkflowId: row.triageWorkflowId }, 'triage dispatcher: start failed; the poll retries'))
      .finally(() => {
        this.pending.delete(row.id);
        this.inFlight.delete(run);
      });
    this.inFlight.add(run);
  }

  private async startClaimed(row: InboundRow, claim: Date | null): Promise<void> {
    const held = holds(claim, this.startDeadlineMs) ? claim : await claimRow(this.deps.prisma, 'InboundMessage', row.id, claim);
    if (!held) return; // another process holds it (and starts it), or it is started
    try {
      await this.deps.temporal.withDeadline(Date.now() + this.startDeadlineMs, () => startStoredTriage(this.deps, row));
    } catch (err) {
      // Given back: the next poll of any process retries it.
      await releaseClaim(this.deps.prisma, 'InboundMessage', row.id, held).catch(() => undefined);
      throw err;
    }
  }

  /** Stored messages not started after the grace period, oldest first, claimed for this process. */
  async poll(graceMs = this.graceMs): Promise<number> {
    if (this.stopped) return 0;
    const claims = await claimBatch(this.deps.prisma, 'InboundMessage', {
      where: Prisma.sql`"taskQueue" = ${taskQueues.main}`,
      agedBy: 'updatedAt',
      graceMs,
      limit: POLL_BATCH,
    });
    const claimOf = new Map(claims.map((c) => [c.id, c.claimedUntil]));
    const rows = await this.deps.prisma.inboundMessage.findMany({ where: { id: { in: [...claimOf.keys()] } }, orderBy: { createdAt: 'asc' } });
    const fresh = rows.filter((r) => !this.pending.has(r.id));
    for (const r of fresh) this.enqueue(r, claimOf.get(r.id)!);
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
