/**
 * What goes into the sandbox's tool executor (tool-executor.ts) and what comes out: one call of
 * the model's, its result as the model and the audit trail see it, and a refusal the safety
 * events record.
 */

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
}

export interface ToolOutcome {
  toolUseId: string;
  name: string;
  content: string;
  isError: boolean;
  /** short line for the status query and the audit trail */
  action: string;
  /** time spent running the project's own commands (run_command), ms */
  commandMs: number;
  completion?: { summary: string; filesChanged: string[] };
}

export interface ToolRefusal {
  kind: 'command_denied' | 'scope_violation';
  message: string;
  details: Record<string, unknown>;
}
