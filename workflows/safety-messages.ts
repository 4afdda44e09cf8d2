/** Updates and the query of the safety controller: imported by the workflow, the API, the CLI and the tests. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { KillSwitch, KillSwitchRequest } from '../src/domain/organisation/kill-switch.js';

export interface ActivationResult {
  switch: KillSwitch;
  /** the scope was already active: the reason and actor were replaced and the kill fanned out again */
  alreadyActive: boolean;
  /** running fixes the kill signal was sent to */
  signalled: string[];
  /** the fan-out failed after its retries: the switch is active all the same, and the sweep retries */
  fanOutError?: string;
}

export interface SafetyState {
  switches: KillSwitch[];
  /** fan-outs run so far (activations and periodic sweeps), across continued runs */
  sweeps: number;
  /** fixes signalled so far, across continued runs */
  killed: number;
  continuedRuns: number;
}

/**
 * Activates a switch (or re-activates it with a new reason) and answers once the kill was sent to
 * every running fix in scope. The validator refuses bad scopes and empty reasons or actors.
 */
export const activateKillSwitchUpdate = defineUpdate<ActivationResult, [KillSwitchRequest]>('activateKillSwitch');
/** Lifts an active switch and answers with it; the validator refuses a scope that is not active. */
export const deactivateKillSwitchUpdate = defineUpdate<KillSwitch, [KillSwitchRequest]>('deactivateKillSwitch');
export const safetyStateQuery = defineQuery<SafetyState>('safetyState');

/** The memo key the controller mirrors its switches to, so they can be read without a worker. */
export const KILL_SWITCHES_MEMO = 'killSwitches';
