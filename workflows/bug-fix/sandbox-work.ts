/**
 * Work inside the fix's sandbox. Sandbox activities run on the task queue of the host that holds
 * the container; when the container or its whole host is gone, the sandbox is provisioned again
 * (restored from the last checkpoint) and the work retried, a bounded number of times.
 */
import type { ValidationCommands, ValidationGateResult } from '../../src/domain/fix/fix.js';
import { hostActivities, provisionActivities, type HostActivities } from '../activity-proxies.js';
import { FixStopped, isSandboxLost } from './errors.js';
import type { FixRun } from './state.js';

const MAX_SANDBOX_RECOVERIES = 3;

export type ProvisionRequest = Parameters<HostActivities['provisionSandbox']>[0];

export class SandboxWork {
  private recoveries = 0;

  constructor(
    private readonly fix: FixRun,
    private readonly request: ProvisionRequest,
    /** the project's validation gates */
    private readonly validation: ValidationCommands,
    /** patch PAUSE_HOLDS_EVERY_STEP: validation waits while the fix is paused */
    private readonly pauseHoldsValidation: boolean,
  ) {}

  /** The fix's first sandbox (a continued run has its sandbox already). */
  async provision(): Promise<void> {
    this.fix.enter('provisioning');
    this.fix.sandbox = await this.fix.step(() => provisionActivities('provision the sandbox').provisionSandbox(this.request));
  }

  /** Sandbox work as one step; when the sandbox was lost, provisions it again (restored) and retries. */
  async run<T>(summary: string, work: (acts: HostActivities, containerId: string) => Promise<T>): Promise<T> {
    const fix = this.fix;
    for (;;) {
      try {
        const current = fix.sandbox!;
        return await fix.step(() => work(hostActivities(current.hostQueue, summary), current.containerId));
      } catch (err) {
        if (!isSandboxLost(err)) throw err;
        if (++this.recoveries > MAX_SANDBOX_RECOVERIES) throw new FixStopped('failed', `sandbox lost ${this.recoveries} times`);
        fix.lastActions.push('sandbox lost: provisioning again from the last checkpoint');
        fix.sandbox = await fix.step(() => provisionActivities('provision the sandbox again').provisionSandbox(this.request));
      }
    }
  }

  /** Runs the project's validation gates; their results become the fix's validation. */
  async validate(): Promise<ValidationGateResult[]> {
    const fix = this.fix;
    if (this.pauseHoldsValidation) await fix.unlessPaused();
    fix.validation = await this.run(`validate (round ${fix.validationRounds + 1})`, (acts, containerId) =>
      acts.runValidation({ containerId, commands: this.validation }),
    );
    fix.timings.validationMs += fix.validation.reduce((sum, v) => sum + v.durationMs, 0);
    return fix.validation;
  }
}
