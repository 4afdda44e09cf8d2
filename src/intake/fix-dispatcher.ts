/**
 * The intake's outbox: a stored report whose fix workflow is not started yet (BugReport.
 * workflowStartedAt is null) is started here. The HTTP intake answers 202 once the row is stored
 * and hands the report over (enqueue); a poll picks up whatever an enqueue missed: a start that
 * failed while Temporal was down or slow, or a process that died between the insert and the start.
 * Starting is idempotent (fixed workflow id, USE_EXISTING), so two dispatchers (two API processes)
 * racing for a row start one workflow.
 */
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import type { BugPriority, PrismaClient } from '../db/prisma.js';
import { RateLimiter } from './rate-limit.js';
import { startFixWorkflow, type StartableBug } from './start-fix.js';

export interface DispatcherDeps {
  prisma: PrismaClient;
  temporal: Client;
  temporalUiUrl: string;
  log: { error: (obj: unknown, msg: string) => void; warn?: (obj: unknown, msg: string) => void };
}

export interface DispatcherOptions {
  /** starts in flight at once; Temporal answers a start in a few ms, so a few keep it busy */
  concurrency?: number;
  /** how often stored reports that were not started are looked for */
  pollMs?: number;
  /** a row younger than this is left to the process that stored it (its enqueue is under way) */
  graceMs?: number;
  /** a start Temporal has not answered by then is given up and left for the next poll */
  startDeadlineMs?: number;
  /**
   * Starts per second at most (a token bucket; none: as fast as Temporal answers). A burst of
   * reports is then answered at the database's pace and started at this one, keeping CPU (or a
   * hosted namespace's actions-per-second limit) for the intake.
   */
  startsPerSecond?: number;
}

/** Lower sorts first: the poll starts CRITICAL reports before the rest of a backlog. */
const PRIORITY_ORDER: Record<BugPriority, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3 };
const POLL_BATCH = 200;

export class FixDispatcher {
  private readonly queue: StartableBug[] = [];
  /** bug ids queued or in flight: a poll does not hand them out twice */
  private readonly pending = new Set<string>();
  private readonly started: string[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private idleWaiters: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly startDeadlineMs: number;
  private readonly startRate: RateLimiter | undefined;
  private readonly startSpacingMs: number;
  private pumpTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: DispatcherDeps,
    opts: DispatcherOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 4;
    this.pollMs = opts.pollMs ?? 2000;
    this.graceMs = opts.graceMs ?? 5000;
    this.startDeadlineMs = opts.startDeadlineMs ?? 10_000;
    this.startRate = opts.startsPerSecond
      ? new RateLimiter({ perSecond: opts.startsPerSecond, burst: Math.max(1, Math.ceil(opts.startsPerSecond / 10)) })
      : undefined;
    this.startSpacingMs = opts.startsPerSecond ? Math.ceil(1000 / opts.startsPerSecond) : 0;
  }

  /** Begins polling for stored reports that were never started (and starts them at once). */
  start(): this {
    this.stopped = false;
    if (!this.timer) {
      const tick = () => {
        this.poll()
          .catch((err: unknown) => this.deps.log.error({ err }, 'fix dispatcher: poll failed'))
          .finally(() => {
            if (this.timer) this.timer = setTimeout(tick, this.pollMs);
          });
      };
      this.timer = setTimeout(tick, 0);
    }
    return this;
  }

  /** Starts this report's fix as soon as a slot is free. */
  enqueue(bug: StartableBug): void {
    // Stopped: the row stays unstarted in the database, for the next poll of a running dispatcher.
    if (this.stopped || this.pending.has(bug.bugId)) return;
    this.pending.add(bug.bugId);
    this.queue.push(bug);
    this.pump();
  }

  /** Stored reports not started after the grace period, most urgent and oldest first. */
  async poll(graceMs = this.graceMs): Promise<number> {
    const rows = await this.deps.prisma.bugReport.findMany({
      // This deployment's reports only (its task queue): others sharing the database start their own.
      where: { taskQueue: taskQueues.main, workflowStartedAt: null, createdAt: { lt: new Date(Date.now() - graceMs) } },
      select: { id: true, workflowId: true, priority: true, title: true, projectId: true, project: { select: { key: true } } },
      orderBy: { createdAt: 'asc' },
      take: POLL_BATCH,
    });
    const fresh = rows.filter((r) => !this.pending.has(r.id)).sort((a, b) => PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority]);
    for (const r of fresh) {
      this.enqueue({ bugId: r.id, workflowId: r.workflowId, priority: r.priority, title: r.title, projectId: r.projectId, projectKey: r.project.key });
    }
    return fresh.length;
  }

  /** Resolves once nothing is queued or in flight and every start is recorded. */
  async idle(): Promise<void> {
    if (this.queue.length > 0 || this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.flush();
  }

  /** Stops polling and waits for the starts in flight; what is still queued stays for the next poll. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.stopped = true;
    // Dropped from the queue, so no longer pending: a later start() must hand them out again.
    for (const bug of this.queue.splice(0)) this.pending.delete(bug.bugId);
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    // Waiters on a queue that was just dropped (rate-limited, nothing in flight) are done too.
    for (const w of this.idleWaiters.splice(0)) w();
    await this.flush();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      if (this.startRate && !this.startRate.take('starts').ok) {
        this.pumpTimer ??= setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, this.startSpacingMs);
        return;
      }
      const bug = this.queue.shift()!;
      this.inFlight += 1;
      // The deadline ends the SDK's retries too: with Temporal down, slots free up for the poll.
      this.deps.temporal
        .withDeadline(Date.now() + this.startDeadlineMs, () => startFixWorkflow(this.deps, bug))
        .then(() => this.started.push(bug.bugId))
        // Left for the next poll: Temporal may be down, and the row is safe in PostgreSQL.
        .catch((err: unknown) => this.deps.log.warn?.({ err, bugId: bug.bugId, workflowId: bug.workflowId }, 'fix dispatcher: start failed; the poll retries'))
        .finally(() => {
          this.inFlight -= 1;
          this.pending.delete(bug.bugId);
          this.pump();
          // Marks go out in batches: one UPDATE for many starts keeps PostgreSQL off the hot path.
          if (this.started.length >= 50 || this.inFlight === 0) void this.flush();
          if (this.inFlight === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }

  /** Records the starts made so far (serialised, so a mark is never lost between two flushes). */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const ids = this.started.splice(0);
      if (ids.length === 0) return;
      await this.deps.prisma.bugReport
        .updateMany({ where: { id: { in: ids }, workflowStartedAt: null }, data: { workflowStartedAt: new Date() } })
        // Unmarked rows are started again by a poll: harmless, the start is idempotent.
        .catch((err: unknown) => this.deps.log.error({ err, count: ids.length }, 'fix dispatcher: could not record starts'));
    });
    return this.flushing;
  }
}

export type { StartableBug };
