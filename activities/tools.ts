/**
 * runTools: executes one turn's tool calls in the sandbox, checkpoints the workspace, then stores
 * the tool_result blocks. Results are stored last: a turn whose results exist has its
 * checkpoint too, so a lost container never loses a turn the model already saw.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type Docker from 'dockerode';
import type { Prisma, PrismaClient } from '../src/db/prisma.js';
import { withoutNul } from '../src/db/jsonb.js';
import { toolInputSchemas } from '../src/domain/agent/agent-tools.js';
import type { ScopeLimits } from '../src/domain/agent/scope.js';
import { captureWorkspace, rewindWorkspace, saveCheckpoint } from '../src/sandbox/checkpoint.js';
import { currentAttempt } from '../src/temporal/activity-heartbeat.js';
import type { ShellPool } from '../src/sandbox/shell-pool.js';
import { ToolExecutor } from '../src/sandbox/tool-executor.js';
import type { ToolRefusal, ToolOutcome } from '../src/sandbox/tool-call.js';

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

export function createToolActivities(deps: { prisma: PrismaClient; docker: Docker; shells: ShellPool }) {
  const { prisma } = deps;
  return {
    async runTools(input: RunToolsInput): Promise<RunToolsResult> {
      const key = { workflowId_iteration: { workflowId: input.workflowId, iteration: input.iteration } };
      const turn = await prisma.agentTurn.findUniqueOrThrow({ where: key });
      const response = turn.response as unknown as Anthropic.Message;
      const calls = response.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      // A reply cut off at max_tokens while writing its last tool call: that call may lack input
      // or carry a cut file, so it is answered, not run (a cut write_file would be "Wrote N bytes").
      const cut = response.stop_reason === 'max_tokens' && response.content.at(-1)?.type === 'tool_use' ? calls.at(-1) : undefined;
      if (turn.followUp) {
        // Already ran (a retry after the results were stored): report, don't run twice. The
        // completion is what the run found: a task_complete whose input is valid, not a cut one.
        const done = calls
          .filter((c) => c !== cut && c.name === 'task_complete')
          .map((c) => toolInputSchemas.task_complete.safeParse(c.input ?? {}))
          .find((p) => p.success)?.data;
        return {
          actions: calls.map((c) => c.name),
          errors: 0,
          commandMs: 0,
          completion: done ? { summary: done.summary, filesChanged: done.files_changed ?? [] } : undefined,
        };
      }
      const bug = await prisma.bugReport.findUnique({
        where: { workflowId: input.workflowId },
        select: { id: true, projectId: true, project: { select: { scopeLimits: true } } },
      });
      const recordSafetyEvent = async (e: ToolRefusal) => {
        // The refused command or path is the model's text: it may hold a NUL (src/db/jsonb.ts).
        await prisma.safetyEvent.create({
          data: withoutNul({
            kind: e.kind,
            severity: 'warning',
            message: e.message,
            workflowId: input.workflowId,
            bugId: bug?.id ?? null,
            projectId: bug?.projectId ?? null,
            actor: 'agent',
            details: { ...e.details, iteration: input.iteration } as Prisma.InputJsonValue,
          }),
        });
      };
      const executor = new ToolExecutor(deps.docker, input.containerId, {
        shells: deps.shells,
        scope: (bug?.project.scopeLimits ?? {}) as ScopeLimits,
        onSafetyEvent: recordSafetyEvent,
      });
      // A retry whose first attempt died mid-turn (worker killed): the tools may have run in part,
      // and an edit applied twice fails ("old_string was not found"). Run the turn again from the
      // workspace the model saw (found by `npm run chaos`). A sandbox provisioned again is already
      // there: latestCheckpoint skips a checkpoint whose turn's results were never stored.
      if (currentAttempt() > 1) await rewindWorkspace(deps.docker, prisma, input.containerId, input.workflowId, input.iteration);
      const outcomes: ToolOutcome[] = [];
      for (const call of calls) outcomes.push(call === cut ? cutOff(call) : await executor.run(call));

      const state = await captureWorkspace(deps.docker, deps.shells, input.containerId);
      await saveCheckpoint(prisma, input.workflowId, input.iteration, state);
      if (state.skipped.length) {
        await prisma.safetyEvent.create({
          data: {
            kind: 'checkpoint_incomplete',
            message: `checkpoint of iteration ${input.iteration} left out ${state.skipped.join(', ')}: too big to store`,
            workflowId: input.workflowId,
            bugId: bug?.id ?? null,
            projectId: bug?.projectId ?? null,
          },
        });
      }

      const results: Anthropic.ToolResultBlockParam[] = outcomes.map((o) => ({
        type: 'tool_result',
        tool_use_id: o.toolUseId,
        content: o.content,
        ...(o.isError ? { is_error: true } : {}),
      }));
      await prisma.agentTurn.update({ where: key, data: { followUp: withoutNul(results) as unknown as Prisma.InputJsonValue } });
      return {
        actions: outcomes.map((o) => o.action),
        errors: outcomes.filter((o) => o.isError).length,
        commandMs: outcomes.reduce((sum, o) => sum + o.commandMs, 0),
        completion: outcomes.find((o) => o.completion)?.completion,
      };
    },
  };
}

/** The answer to a tool call cut off at max_tokens (see runTools). */
function cutOff(call: Anthropic.ToolUseBlock): ToolOutcome {
  return {
    toolUseId: call.id,
    name: call.name,
    content:
      'Not run: your reply hit the output token limit while writing this call, so its input may be cut short. ' +
      'Make big changes in smaller steps: edit_file for changes to an existing file, several smaller files or edits rather than one large write_file.',
    isError: true,
    action: `${call.name} (cut off at the token limit)`,
    commandMs: 0,
  };
}
