/** runTools: executes one turn's tool calls in the sandbox and stores their results. */
import type Anthropic from '@anthropic-ai/sdk';
import type Docker from 'dockerode';
import type { Prisma, PrismaClient } from '../src/db/prisma.js';
import { ToolExecutor, type ToolOutcome } from './tool-executor.js';

export interface RunToolsInput {
  workflowId: string;
  iteration: number;
  containerId: string;
}

export interface RunToolsResult {
  actions: string[];
  errors: number;
  /** time the project's own commands took (run_command), ms */
  commandMs: number;
  completion?: { summary: string; filesChanged: string[] };
}

export function createToolActivities(deps: { prisma: PrismaClient; docker: Docker }) {
  return {
    async runTools(input: RunToolsInput): Promise<RunToolsResult> {
      const key = { workflowId_iteration: { workflowId: input.workflowId, iteration: input.iteration } };
      const turn = await deps.prisma.agentTurn.findUniqueOrThrow({ where: key });
      const calls = (turn.response as unknown as Anthropic.Message).content.filter(
        (b): b is Anthropic.ToolUseBlock => b.type === 'tool_use',
      );
      if (turn.followUp) {
        // Already ran (a retry after the results were stored): report, don't run twice.
        const done = calls.find((c) => c.name === 'task_complete');
        const input = done?.input as { summary?: string; files_changed?: string[] } | undefined;
        return {
          actions: calls.map((c) => c.name),
          errors: 0,
          commandMs: 0,
          completion: input?.summary ? { summary: input.summary, filesChanged: input.files_changed ?? [] } : undefined,
        };
      }
      const executor = new ToolExecutor(deps.docker, input.containerId);
      const outcomes: ToolOutcome[] = [];
      for (const call of calls) outcomes.push(await executor.run(call));
      const results: Anthropic.ToolResultBlockParam[] = outcomes.map((o) => ({
        type: 'tool_result',
        tool_use_id: o.toolUseId,
        content: o.content,
        ...(o.isError ? { is_error: true } : {}),
      }));
      await deps.prisma.agentTurn.update({ where: key, data: { followUp: results as unknown as Prisma.InputJsonValue } });
      return {
        actions: outcomes.map((o) => o.action),
        errors: outcomes.filter((o) => o.isError).length,
        commandMs: outcomes.reduce((sum, o) => sum + o.commandMs, 0),
        completion: outcomes.find((o) => o.completion)?.completion,
      };
    },
  };
}
