/**
 * The intake's outbox: a stored report whose fix workflow is not started yet (BugReport.
 * workflowStartedAt is null) is started here. The HTTP intake answers 202 once the row is stored
 * and hands the report over (enqueue); a poll picks up whatever an enqueue missed: a start that
 * failed while Temporal was down or slow, or a process that died between the insert and the start.
 * Of several API processes exactly one starts each report: a row is started only under a claim
 * (outbox-claim.ts) — the one its INSERT took, or one a poll or a conditional update took. (Starting
 * is idempotent too: fixed workflow id, USE_EXISTING.)
 */
import type { Client } from '@temporalio/client';
import { taskQueues } from '../../temporal.config.js';
import { Prisma, type BugPriority, type PrismaClient } from '../db/prisma.js';
import { hotQuery, hotStatement } from '../db/sql.js';
import { claimBatch, claimRow, holds, releaseClaim } from './outbox-claim.js';
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
/** Starts queued per slot of concurrency above which the intake waits for room (room()). */
const HIGH_WATER_PER_SLOT = 25;
/** The longest a request waits for room: past it the report is stored all the same. */
const ROOM_WAIT_MS = 500;

/**
 * Marks a batch of starts ($1: bug ids) as Prisma's updateMany did (UTC wall-clock time in these
 * timestamp columns): a prepared statement, since every report passes here (src/db/sql.ts).
 */
const MARK_STARTED = hotStatement(
  'bug_report_mark_started',
  `UPDATE "BugReport" SET "workflowStartedAt" = now() AT TIME ZONE 'UTC', "updatedAt" = now() AT TIME ZONE 'UTC'
   WHERE "id" = ANY($1::uuid[]) AND "workflowStartedAt" IS NULL`,
);

/** A report handed to this dispatcher, with the claim this process holds on its row (null: none yet). */
interface Entry {
  bug: StartableBug;
  claim: Date | null;
}

export class FixDispatcher {
  private readonly queue: Entry[] = [];
  /** queued or in flight, by bug id: a poll does not hand them out twice */
  private readonly pending = new Map<string, Entry>();
  private readonly started: string[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private idleWaiters: Array<() => void> = [];
  /** requests waiting for room in the queue (room()), oldest first */
  private roomWaiters: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly highWater: number;
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
    this.highWater = HIGH_WATER_PER_SLOT * this.concurrency;
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

  /** Whether a report stored now is claimed for this dispatcher in its INSERT (not when stopped). */
  claimsOnInsert(): boolean {
    return !this.stopped;
  }

  /**
   * Starts this report's fix as soon as a slot is free. `claim`: the lease this process holds on
   * the row (its INSERT's); without one, the row is claimed first and left alone if someone else
   * holds it.
   */
  enqueue(bug: StartableBug, claim: Date | null = null): void {
    // Stopped: the row stays unstarted in the database, for the next poll of a running dispatcher.
    if (this.stopped || this.pending.has(bug.bugId)) return;
    const entry = { bug, claim };
    this.pending.set(bug.bugId, entry);
    this.queue.push(entry);
    this.pump();
  }

  /**
   * Backpressure for the intake: resolves at once while fewer than 25 × concurrency starts are
   * queued, else when one of them goes out (or after `maxWaitMs`: the report is then taken all the
   * same, stored, and started by the outbox). Without it the API answers far faster than Temporal
   * starts, and on a shared machine its CPU is taken from the starts: answered-and-started is what
   * counts (bench/intake.ts), and a backlog of answered reports is work not yet done.
   */
  room(maxWaitMs = ROOM_WAIT_MS): Promise<void> {
    if (this.stopped || this.queue.length < this.highWater) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const at = this.roomWaiters.indexOf(done);
        if (at >= 0) this.roomWaiters.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.roomWaiters.push(done);
    });
  }

  /** Stored reports not started after the grace period, most urgent and oldest first. */
  async poll(graceMs = this.graceMs): Promise<number> {
    if (this.stopped) return 0;
    // Claimed in one statement: a row another process's poll claims at the same moment is skipped.
    const claims = await claimBatch(this.deps.prisma, 'BugReport', {
      // This deployment's reports only (its task queue): others sharing the database start their own.
      where: Prisma.sql`"taskQueue" = ${taskQueues.main}`,
      agedBy: 'createdAt',
      graceMs,
      limit: POLL_BATCH,
    });
    const claimOf = new Map(claims.map((c) => [c.id, c.claimedUntil]));
    const rows = await this.deps.prisma.bugReport.findMany({
      where: { id: { in: claims.map((c) => c.id) } },
      select: { id: true, workflowId: true, priority: true, title: true, projectId: true, createdAt: true, project: { select: { key: true } } },
      orderBy: { createdAt: 'asc' },
    });
    // Still queued here under a claim that ran out: the new claim is this process's now.
    for (const r of rows) if (this.pending.has(r.id)) this.pending.get(r.id)!.claim = claimOf.get(r.id)!;
    const fresh = rows.filter((r) => !this.pending.has(r.id)).sort((a, b) => PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority]);
    for (const r of fresh) {
      this.enqueue(
        { bugId: r.id, workflowId: r.workflowId, priority: r.priority, title: r.title, projectId: r.projectId, projectKey: r.project.key },
        claimOf.get(r.id)!,
      );
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
    // Dropped from the queue, so no longer pending: a later start() must hand them out again, and
    // their claims are given back so that another process's poll need not wait for them to expire.
    const dropped = this.queue.splice(0);
    for (const w of [...this.roomWaiters]) w();
    for (const e of dropped) this.pending.delete(e.bug.bugId);
    await Promise.all(dropped.map((e) => this.giveBack(e)));
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
      const entry = this.queue.shift()!;
      // A place in the queue is free: the longest-waiting request may store its report.
      if (this.queue.length < this.highWater) this.roomWaiters[0]?.();
      const bug = entry.bug;
      this.inFlight += 1;
      this.startClaimed(entry)
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

  /** Starts the fix under this process's claim on the row (taken first if it has none that lasts). */
  private async startClaimed(entry: Entry): Promise<void> {
    const { bug } = entry;
    if (!holds(entry.claim, this.startDeadlineMs)) entry.claim = await claimRow(this.deps.prisma, 'BugReport', bug.bugId, entry.claim);
    // Another process holds the row (and starts it), or it is started already.
    if (!entry.claim) return;
    try {
      // The deadline ends the SDK's retries too: with Temporal down, slots free up for the poll.
      await this.deps.temporal.withDeadline(Date.now() + this.startDeadlineMs, () => startFixWorkflow(this.deps, bug));
      this.started.push(bug.bugId);
    } catch (err) {
      // Left for the next poll (of any process): Temporal may be down, and the row is safe in PostgreSQL.
      await this.giveBack(entry);
      throw err;
    }
  }

  private async giveBack(entry: Entry): Promise<void> {
    if (!entry.claim) return;
    await releaseClaim(this.deps.prisma, 'BugReport', entry.bug.bugId, entry.claim).catch((err: unknown) =>
      this.deps.log.warn?.({ err, bugId: entry.bug.bugId }, 'fix dispatcher: could not give a claim back; it expires'),
    );
  }

  /** Records the starts made so far (serialised, so a mark is never lost between two flushes). */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const ids = this.started.splice(0);
      if (ids.length === 0) return;
      await hotQuery(this.deps.prisma, MARK_STARTED, [ids])
        // Unmarked rows are started again by a poll: harmless, the start is idempotent.
        .catch((err: unknown) => this.deps.log.error({ err, count: ids.length }, 'fix dispatcher: could not record starts'));
    });
    return this.flushing;
  }
}

export type { StartableBug };
