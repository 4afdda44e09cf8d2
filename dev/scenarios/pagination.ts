/**
 * The scripted model's playbook for the pagination fixture: explore, reproduce (red), edit, test
 * (green), commit, complete — 10 tool calls over 9 turns. It checks what the tools returned, the
 * way a model would react, and refuses to go on (HTTP 400) when the product misbehaves.
 */
import { lastToolResults, type ModelScript, type ReplyBlock } from '../stand-ins/anthropic-api.js';

export class ScriptDiverged extends Error {}

const tool = (name: string, input: Record<string, unknown> = {}): ReplyBlock => ({ type: 'tool_use', name, input });
const say = (text: string): ReplyBlock => ({ type: 'text', text });

function expectResult(req: Parameters<ModelScript>[0], test: (text: string) => boolean, what: string): void {
  const results = lastToolResults(req);
  if (!results.some((r) => !r.is_error && test(r.content))) {
    throw new ScriptDiverged(`expected ${what}; got ${JSON.stringify(results).slice(0, 400)}`);
  }
}

export const paginationScenario: ModelScript = (req, turn) => {
  switch (turn) {
    case 0:
      return [say('Let me look at the repository layout.'), tool('list_files')];
    case 1:
      expectResult(req, (t) => t.includes('src/paginate.js'), 'the file list');
      return [tool('search_code', { pattern: 'function paginate', file_pattern: '*.js' })];
    case 2:
      return [tool('read_file', { path: 'src/paginate.js' }), tool('read_file', { path: 'test/paginate.test.js' })];
    case 3:
      expectResult(req, (t) => t.includes('const start = page * size;'), 'the source of paginate');
      return [say('Reproducing with the tests first.'), tool('run_command', { command: 'npm test', timeout_seconds: 60 })];
    case 4:
      expectResult(req, (t) => t.startsWith('Exit code: 1') && /^(?:#|ℹ) fail [1-9]/m.test(t), 'failing tests before the fix');
      return [
        say('Pages are 1-based but the start index treats them as 0-based.'),
        tool('edit_file', { path: 'src/paginate.js', old_string: '  const start = page * size;', new_string: '  const start = (page - 1) * size;' }),
      ];
    case 5:
      expectResult(req, (t) => t.startsWith('Edited src/paginate.js'), 'a successful edit');
      return [tool('run_command', { command: 'npm test', timeout_seconds: 60 })];
    case 6:
      expectResult(req, (t) => t.startsWith('Exit code: 0') && /^(?:#|ℹ) fail 0$/m.test(t), 'passing tests after the fix');
      return [tool('git_diff')];
    case 7:
      expectResult(req, (t) => t.includes('+  const start = (page - 1) * size;'), 'the diff');
      return [tool('git_commit', { message: 'Fix off-by-one in paginate: pages are 1-based' })];
    case 8:
      expectResult(req, (t) => t.startsWith('Committed'), 'a commit');
      return [
        tool('task_complete', {
          summary:
            '`paginate` treated the 1-based page number as 0-based, so page 1 skipped the first page of items. The start index is now `(page - 1) * size`.',
          files_changed: ['src/paginate.js'],
        }),
      ];
    default:
      throw new ScriptDiverged(`no step for turn ${turn}`);
  }
};
