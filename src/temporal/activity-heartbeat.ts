/**
 * Every activity heartbeats while it runs. Heartbeats are how a worker learns that the workflow
 * cancelled the activity (a kill, a cancel, the time budget), so they are what lets a stop reach
 * an in-flight model call or command within about a second (the worker's heartbeat throttle is
 * set in temporal.config.ts). The SDK throttles what actually goes to the server.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { asRemovedSandbox } from '../sandbox/exec.js';

const BEAT_MS = 250;

type AnyActivity = (...args: never[]) => Promise<unknown>;

export function withHeartbeats<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const ctx = Context.current();
      const timer = setInterval(() => ctx.heartbeat(), BEAT_MS);
      try {
        return await fn(...args);
      } catch (err) {
        // A safety net under every activity: a sandbox removed under a Docker call that did not
        // map it itself is recovered from (SandboxGone), not a failed fix.
        throw asRemovedSandbox(err);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return wrapped as T;
}

/** The signal that aborts when the workflow cancels this activity (none outside an activity). */
export function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/**
 * Throws once the workflow cancelled this activity. A kill or cancel reaches an activity through
 * its heartbeats, but the workflow moves on to cleanup without waiting for it: work with effects
 * outside (a push, a pull request, a new container) must check before it starts.
 */
export function throwIfCancelled(): void {
  cancellationSignal()?.throwIfAborted();
}

/**
 * After `stopped` (a kill switch stopped this activity's spending on this worker): waits for
 * Temporal's cancellation, which the switch's fan-out brings, and throws it; past `waitMs`
 * without one (this fix was not signalled), a retryable failure — the next attempt is refused
 * again while the switch holds, so nothing is spent either way.
 */
export async function untilCancelled(stopped: Error, waitMs = 60_000): Promise<never> {
  const signal = cancellationSignal();
  if (signal && !signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
  signal?.throwIfAborted();
  throw ApplicationFailure.retryable(stopped.message, 'SpendStopped');
}

/** This activity's attempt number (1 outside an activity, e.g. when a test calls it directly). */
export function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}
