/**
 * A long fix of the pagination fixture for the scripted model: many turns of reading large command
 * output (each truncated to the tool output limit), then the fix, a commit and task_complete. It
 * checks each turn got its outputs back, so a conversation that lost its latest turn (a bad
 * condensation) diverges. Used by the long-fix test and `npm run bench:tokens`.
 */
import { lastToolResults, type ModelScript, type ReplyBlock } from '../stand-ins/anthropic-api.js';
import { ScriptDiverged } from './pagination.js';

export interface LongFixOptions {
  /** model turns in all, the last three being edit, commit and task_complete */
  turns: number;
  /** large-output commands per looking turn */
  commandsPerTurn: number;
}

const tool = (name: string, input: Record<string, unknown> = {}): ReplyBlock => ({ type: 'tool_use', name, input });

/** About 29 KB of output per command, past the tool output limit; each turn's differs. */
const bigCommand = (turn: number, n: number) => `seq ${turn * 100 + n} ${turn * 100 + n + 6000}`;

export function longFixScenario(opts: LongFixOptions): ModelScript {
  const looking = opts.turns - 3;
  return (req, turn) => {
    if (turn > 0 && turn <= looking && lastToolResults(req).length !== opts.commandsPerTurn)
      throw new ScriptDiverged(`turn ${turn}: expected the ${opts.commandsPerTurn} outputs of the previous turn`);
    if (turn < looking)
      return [
        { type: 'text', text: `Reading the data, part ${turn}.` },
        ...Array.from({ length: opts.commandsPerTurn }, (_, n) => tool('run_command', { command: bigCommand(turn, n) })),
      ];
    if (turn === looking)
      return [tool('edit_file', { path: 'src/paginate.js', old_string: '  const start = page * size;', new_string: '  const start = (page - 1) * size;' })];
    if (turn === looking + 1) return [tool('git_commit', { message: 'Fix off-by-one in paginate: pages are 1-based' })];
    if (turn === looking + 2) return [tool('task_complete', { summary: 'The start index is now (page - 1) * size.', files_changed: ['src/paginate.js'] })];
    throw new ScriptDiverged(`no step for turn ${turn}`);
  };
}
