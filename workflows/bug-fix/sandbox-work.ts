/**
 * Work inside the fix's sandbox. Sandbox activities run on the task queue of the host that holds
 * the container; when the container or its whole host is gone, the sandbox is provisioned again
 * (restored from the last checkpoint) and the work retried: under patch SANDBOX_LOSSES_IN_A_ROW
 * until it is lost too many times in a row without progress (src/domain/fix/sandbox-losses.ts),
 * before it a bounded number of times over the whole fix.
 */
import { patched, workflowInfo } from '@temporalio/workflow';
import type { ValidationCommands, ValidationGateResult } from '../../src/domain/fix/fix.js';
import { completeEvidence, reproductionFeedback, type ReproductionEvidence } from '../../src/domain/fix/reproduction.js';
import { formerHostActivities, hostActivities, provisionActivities, type HostActivities } from '../activity-proxies.js';
import { reprovisioningDetail, sandboxLossStop } from '../../src/domain/fix/sandbox-losses.js';
import { FixStopped, isSandboxLost, rootCauseMessage } from './errors.js';
import { REMOVE_MOVED_SANDBOX, SANDBOX_LOSSES_IN_A_ROW } from './patches.js';
import type { FixRun } from './state.js';

/** Before patch SANDBOX_LOSSES_IN_A_ROW: recoveries over the whole fix. */
const MAX_SANDBOX_RECOVERIES = 3;

export type ProvisionRequest = Parameters<HostActivities['provisionSandbox']>[0];

export class SandboxWork {
  private recoveries = 0;
  /** losses since the last sandbox step that completed */
  private lossesInARow = 0;
  /** patch SANDBOX_LOSSES_IN_A_ROW, read at the run's first loss and kept for the run */
  private countsLossesInARow: boolean | undefined;

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
        const done = await fix.step(() => work(hostActivities(current.hostQueue, summary), current.containerId));
        this.lossesInARow = 0; // progress: the next loss starts a new count
        return done;
      } catch (err) {
        if (!isSandboxLost(err)) throw err;
        this.countsLossesInARow ??= patched(SANDBOX_LOSSES_IN_A_ROW);
        const lost = fix.sandbox!;
        if (this.countsLossesInARow) await this.provisionAfterLoss();
        else {
          if (++this.recoveries > MAX_SANDBOX_RECOVERIES) throw new FixStopped('failed', `sandbox lost ${this.recoveries} times`);
          fix.lastActions.push('sandbox lost: provisioning again from the last checkpoint');
          fix.sandbox = await fix.step(() => provisionActivities('provision the sandbox again').provisionSandbox(this.request));
        }
        if (patched(REMOVE_MOVED_SANDBOX)) this.removeLost(lost);
      }
    }
  }

  /** Under patch SANDBOX_LOSSES_IN_A_ROW: provisions again (restored), saying why, or fails the fix after too many losses in a row. */
  private async provisionAfterLoss(): Promise<void> {
    const fix = this.fix;
    this.lossesInARow += 1;
    const stop = sandboxLossStop(this.lossesInARow);
    if (stop) throw new FixStopped('failed', stop);
    fix.phaseDetail = reprovisioningDetail(this.lossesInARow);
    fix.lastActions.push(`sandbox lost (${this.lossesInARow} in a row): provisioning again from the last checkpoint`);
    try {
      fix.sandbox = await fix.step(() => provisionActivities('provision the sandbox again').provisionSandbox(this.request));
    } finally {
      fix.phaseDetail = undefined;
    }
  }

  /**
   * The container left behind (its host may be down, or only its worker) is removed on its own
   * host's queue while the fix goes on; not awaited, so a dead host never holds the fix up.
   */
  private removeLost(lost: NonNullable<FixRun['sandbox']>): void {
    const { workflowId } = workflowInfo();
    formerHostActivities(lost.hostQueue, 'remove the lost sandbox')
      .removeSandbox({ containerId: lost.containerId, workflowId })
      .catch((err: unknown) => this.fix.lastActions.push(`lost sandbox not removed (its host's sweep will): ${rootCauseMessage(err)}`));
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

  /**
   * Under patch REPRODUCTION_FIRST, after the reproduction phase's validation: the briefing the
   * first model call reads (that validation's output, the repository's instructions for agents).
   */
  async brief(): Promise<void> {
    const fix = this.fix;
    fix.baselineTestPassed = fix.validation.find((v) => v.gate === 'test')?.passed;
    const baseline = fix.validation;
    const read = await this.run('read the repository instructions', (acts, containerId) =>
      acts.prepareBriefing({ workflowId: this.request.workflowId, containerId, baseSha: fix.sandbox!.baseSha, baseline }),
    );
    if (read.instructionFiles.length) fix.lastActions.push(`repository instructions: ${read.instructionFiles.join(', ')}`);
  }

  /**
   * Under patch REPRODUCTION_FIRST, after a validation that passed: the service's check that the
   * fix's test files fail on the base commit's code. Returns feedback for the agent when the
   * project requires a reproduction test and the fix has none that works.
   */
  async checkReproduction(): Promise<string | null> {
    const fix = this.fix;
    if (fix.reproductionPolicy === 'off') return null;
    const testCommand = this.validation.test;
    const found: ReproductionEvidence = testCommand
      ? await this.run('verify the reproduction test', (acts, containerId) =>
          acts.verifyReproduction({ containerId, baseSha: fix.sandbox!.baseSha, testCommand }),
        )
      : { status: 'no-test-command', testFiles: [] };
    fix.reproduction = completeEvidence(found, fix.validation, fix.baselineTestPassed);
    fix.lastActions.push(`reproduction test: ${fix.reproduction.status}`);
    return fix.reproductionPolicy === 'required' ? reproductionFeedback(fix.reproduction) : null;
  }
}
