/**
 * Reproduction first: the briefing the agent starts from (the base commit's validation output and
 * the repository's instructions for agents), and the service's own check that the fix's tests
 * fail on the base commit's code.
 */
import type Docker from 'dockerode';
import type { PrismaClient } from '../src/db/prisma.js';
import { withoutNul } from '../src/db/jsonb.js';
import type { BaselineGate } from '../src/domain/agent/prompt.js';
import { truncateMiddle } from '../src/domain/agent/truncate.js';
import type { ValidationGateResult } from '../src/domain/fix/fix.js';
import type { ReproductionEvidence } from '../src/domain/fix/reproduction.js';
import { readInstructionFiles, runFixTestsOnBase } from '../src/sandbox/reproduction-check.js';

/** Of each baseline gate's output, what the first message shows (its middle is cut). */
const BASELINE_OUTPUT_CHARS = 4_000;

export function createReproductionActivities(deps: { docker: Docker; prisma: PrismaClient }) {
  return {
    /** Reads the instructions at the base commit and stores them with the baseline: the first message is built from this row. */
    async prepareBriefing(input: {
      workflowId: string;
      containerId: string;
      baseSha: string;
      baseline: ValidationGateResult[];
    }): Promise<{ instructionFiles: string[] }> {
      const instructions = await readInstructionFiles(deps.docker, input.containerId, input.baseSha);
      const baseline: BaselineGate[] = input.baseline.map((g) => ({
        gate: g.gate,
        command: g.command,
        passed: g.passed,
        exitCode: g.exitCode,
        output: truncateMiddle(g.output, BASELINE_OUTPUT_CHARS),
      }));
      const data = { baseline: withoutNul(baseline) as object, instructions: withoutNul(instructions) as object };
      // A retried attempt writes the same row again.
      await deps.prisma.fixBriefing.upsert({ where: { workflowId: input.workflowId }, create: { workflowId: input.workflowId, ...data }, update: data });
      return { instructionFiles: instructions.map((f) => f.path) };
    },

    /** The fix's test files on the base commit's code: the test command must fail there. */
    async verifyReproduction(input: {
      containerId: string;
      baseSha: string;
      testCommand: string | undefined;
      timeoutMs?: number;
    }): Promise<ReproductionEvidence> {
      if (!input.testCommand) return { status: 'no-test-command', testFiles: [] };
      return runFixTestsOnBase(deps.docker, input.containerId, input.baseSha, input.testCommand, input.timeoutMs ?? 10 * 60_000);
    },
  };
}
