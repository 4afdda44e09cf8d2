/** Runs the project's configured validation gates in the sandbox, in a fixed order. */
import type Docker from 'dockerode';
import { VALIDATION_GATES, type ValidationCommands, type ValidationGateResult } from '../src/domain/fix/fix.js';
import { formatCommandResult } from '../src/sandbox/command-result.js';
import { execInSandbox } from '../src/sandbox/exec.js';
import { truncateMiddle } from '../src/domain/agent/truncate.js';

export interface RunValidationInput {
  containerId: string;
  commands: ValidationCommands;
  timeoutMs?: number;
}

export function createValidationActivities(deps: { docker: Docker }) {
  return {
    async runValidation(input: RunValidationInput): Promise<ValidationGateResult[]> {
      const results: ValidationGateResult[] = [];
      const timeoutMs = input.timeoutMs ?? 10 * 60_000;
      for (const gate of VALIDATION_GATES) {
        const command = input.commands[gate];
        if (!command) continue;
        // The command comes from the project's configuration (an admin), never from a report.
        // Its output is kept as head and tail only (execInSandbox's default): a test suite that
        // prints in a loop for the whole timeout costs the worker a fixed amount of memory.
        // Stdin is /dev/null for the whole command line (a trailing `</dev/null` would reach only
        // its last command: `yes | head` read nothing).
        const r = await execInSandbox(deps.docker, input.containerId, ['bash', '-c', `exec </dev/null\n${command}`], { timeoutMs });
        results.push({
          gate,
          command,
          passed: r.exitCode === 0,
          exitCode: r.exitCode,
          durationMs: r.durationMs,
          // The captures, not the rendered buffers: the "bytes cut" count is of the whole output.
          output: truncateMiddle(formatCommandResult({ ...r, ...r.captured }, timeoutMs), 8_000),
        });
      }
      return results;
    },
  };
}
