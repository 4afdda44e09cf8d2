/**
 * Spending stops at once on every worker host when a kill switch is pressed, without waiting for
 * Temporal: activating a switch (src/safety/kill-switch-client.ts) stores it and sends a
 * PostgreSQL NOTIFY; every worker LISTENs, and its SpendGuard aborts the model calls in flight
 * that the switch covers and refuses new ones. Temporal's path (the controller's fan-out → a kill
 * signal per fix → activity cancellation through heartbeats) still ends the fixes; it took seconds
 * with fifty fixes on two hosts (bench:kill's spendStopP95Ms), this takes one round trip.
 *
 * Switches of other task queues (other deployments, or test files sharing the database) are not
 * this worker's. A missed notification (the listening connection was down) is made good by
 * reading the stored switches on every (re)connect and every RESYNC_MS.
 */
import pg from 'pg';
import { covers, type KillSwitchScope } from '../domain/organisation/kill-switch.js';
import { pgPoolConfig } from '../db/pg-config.js';
import type { PrismaClient } from '../db/prisma.js';

export const SWITCH_CHANNEL = 'bugfix_kill_switch';
const RESYNC_MS = 30_000;

export interface SwitchNotice {
  action: 'on' | 'off';
  taskQueue: string;
  scope: KillSwitchScope;
  reason?: string;
}

/** Tells every listening worker (after the switch is stored: a worker that resyncs sees it too). */
export async function notifySwitch(prisma: PrismaClient, notice: SwitchNotice): Promise<void> {
  await prisma.$executeRaw`SELECT pg_notify(${SWITCH_CHANNEL}, ${JSON.stringify(notice)})`;
}

/** Thrown into a model call a switch stopped; the caller waits for Temporal's cancellation. */
export class SpendStopped extends Error {
  constructor(
    readonly scope: KillSwitchScope,
    reason: string,
  ) {
    super(`spending stopped by kill switch ${scope}: ${reason}`);
    this.name = 'SpendStopped';
  }
}

interface Tracked {
  projectKey: string;
  controller: AbortController;
}

export class SpendGuard {
  private readonly active = new Map<KillSwitchScope, string>();
  private readonly inFlight = new Set<Tracked>();

  constructor(readonly taskQueue: string) {}

  /** Why a model call for this project may not start now, if a switch covers it. */
  stoppedFor(projectKey: string): SpendStopped | undefined {
    for (const [scope, reason] of this.active) if (covers(scope, projectKey)) return new SpendStopped(scope, reason);
    return undefined;
  }

  /**
   * Runs a model call under the guard: refused when a switch covers the project, aborted when one
   * is pressed while it runs. `call` gets a signal that aborts on either that or `outer` (the
   * activity's cancellation).
   */
  async run<T>(projectKey: string, outer: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const refused = this.stoppedFor(projectKey);
    if (refused) throw refused;
    const tracked: Tracked = { projectKey, controller: new AbortController() };
    this.inFlight.add(tracked);
    try {
      const signal = outer ? AbortSignal.any([outer, tracked.controller.signal]) : tracked.controller.signal;
      return await call(signal);
    } catch (err) {
      const stopped = tracked.controller.signal.reason;
      throw stopped instanceof SpendStopped ? stopped : err;
    } finally {
      this.inFlight.delete(tracked);
    }
  }

  apply(notice: SwitchNotice): void {
    if (notice.taskQueue !== this.taskQueue) return;
    if (notice.action === 'off') return void this.active.delete(notice.scope);
    const reason = notice.reason ?? 'pressed';
    this.active.set(notice.scope, reason);
    for (const t of this.inFlight) if (covers(notice.scope, t.projectKey)) t.controller.abort(new SpendStopped(notice.scope, reason));
  }

  /** The stored switches replace what this guard knew (calls in flight under one are aborted). */
  resync(stored: Array<{ scope: KillSwitchScope; reason: string }>): void {
    for (const scope of [...this.active.keys()]) if (!stored.some((s) => s.scope === scope)) this.active.delete(scope);
    for (const s of stored) this.apply({ action: 'on', taskQueue: this.taskQueue, scope: s.scope, reason: s.reason });
  }
}

/**
 * Keeps `guard` current: LISTEN on its own connection (reconnecting with backoff), and the stored
 * switches read on each connect and every RESYNC_MS. `ready`: the first LISTEN and read are done.
 */
export function listenForSwitches(
  databaseUrl: string,
  prisma: PrismaClient,
  guard: SpendGuard,
  log: { warn: (obj: unknown, msg: string) => void },
  /** told of each switch pressed for this guard's task queue, once the guard applied it */
  onPressed?: (notice: SwitchNotice) => void,
): { ready: Promise<void>; stop(): Promise<void> } {
  let stopped = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let client: pg.Client | undefined;
  let retryMs = 500;
  const resync = async () => {
    const rows = await prisma.activeKillSwitch.findMany({ where: { taskQueue: guard.taskQueue } });
    guard.resync(rows.map((r) => ({ scope: r.scope as KillSwitchScope, reason: r.reason })));
  };
  const connect = async (): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client(pgPoolConfig(databaseUrl));
    client = c;
    const again = (err: unknown) => {
      if (stopped || client !== c) return;
      client = undefined;
      log.warn({ err }, 'kill switch listener lost its connection; reconnecting');
      c.end().catch(() => undefined);
      setTimeout(() => void connect(), retryMs).unref();
      retryMs = Math.min(retryMs * 2, 10_000);
    };
    c.on('error', again);
    c.on('end', () => again(new Error('connection ended')));
    c.on('notification', (msg) => {
      if (msg.channel !== SWITCH_CHANNEL || !msg.payload) return;
      try {
        const notice = JSON.parse(msg.payload) as SwitchNotice;
        guard.apply(notice);
        if (notice.action === 'on' && notice.taskQueue === guard.taskQueue) onPressed?.(notice);
      } catch (err) {
        log.warn({ err }, 'kill switch notification not understood');
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${SWITCH_CHANNEL}`);
      retryMs = 500;
      await resync();
      markReady();
    } catch (err) {
      again(err);
    }
  };
  void connect();
  const timer = setInterval(() => void resync().catch(() => undefined), RESYNC_MS);
  timer.unref();
  return {
    ready,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
