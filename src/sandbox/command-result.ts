/** How a command's outcome reads for the model (run_command, validation feedback). */
import { truncateMiddle } from '../domain/agent/truncate.js';
import { OutputCapture } from './output-capture.js';

export const MAX_TOOL_OUTPUT_CHARS = 20_000;

export interface CommandOutcome {
  exitCode: number;
  timedOut: boolean;
  stdout: Buffer | OutputCapture;
  stderr: Buffer | OutputCapture;
}

const SIGNALS: Record<number, string> = { 129: 'SIGHUP', 130: 'SIGINT', 134: 'SIGABRT', 137: 'SIGKILL', 139: 'SIGSEGV', 143: 'SIGTERM' };

/** Room left for the "[... N bytes cut ...]" line within each stream's half. */
const MARKER_ROOM = 100;

function asText(out: Buffer | OutputCapture, maxBytes: number): string {
  if (out instanceof OutputCapture) return out.text(maxBytes);
  const capture = new OutputCapture(maxBytes, maxBytes);
  capture.push(out);
  return capture.text(maxBytes);
}

export function formatCommandResult(r: CommandOutcome, timeoutMs: number): string {
  let head = r.timedOut ? `Timed out after ${Math.round(timeoutMs / 1000)} s and was killed.` : `Exit code: ${r.exitCode}`;
  if (!r.timedOut && SIGNALS[r.exitCode]) {
    head += ` (killed by ${SIGNALS[r.exitCode]}${r.exitCode === 137 ? ': usually the sandbox memory limit' : ''})`;
  }
  const half = MAX_TOOL_OUTPUT_CHARS / 2;
  // truncateMiddle only guards multi-byte text that decodes longer than its byte budget.
  const part = (out: Buffer | OutputCapture) => truncateMiddle(asText(out, half - MARKER_ROOM), half);
  return [head, `--- stdout ---\n${part(r.stdout)}`, `--- stderr ---\n${part(r.stderr)}`].join('\n');
}
