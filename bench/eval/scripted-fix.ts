/**
 * Builds the scripted model's playbook for one eval fixture from its plan: explore (list, search,
 * read), reproduce (tests red, showing the reported symptom), apply the intended fix, test (green),
 * diff, commit, complete — 9 turns. Like scenarios/pagination.ts it checks every tool result the
 * way a model would and refuses to go on (the stand-in answers 400) when the product misbehaves,
 * so a wrong tool result fails the fix instead of being papered over.
 */
import { lastToolResults, type ModelScript, type ReplyBlock } from '../../dev/stand-ins/anthropic-api.js';
import { ScriptDiverged } from '../../dev/scenarios/pagination.js';
import { addedLines, changedFiles, type FileEdit } from './intended-fix.js';

/**
 * The project's test command and how its output reads. The model sees what run_command returns:
 * "Exit code: N", then the command's stdout and stderr; a run counts as red when it exits non-zero
 * and `failed` matches, as green when it exits 0 and `passed` matches.
 */
export interface TestReading {
  /** what the model runs (the project's validation command) */
  command: string;
  /** matches the output of a run with failing tests */
  failed: RegExp;
  /** matches the output of a run whose tests all pass */
  passed: RegExp;
  /** run_command's timeout (default 120 s) */
  timeoutSeconds?: number;
}

/**
 * `npm test` = `node --test`. Its summary counts `# fail N` in TAP (Node 20's default when
 * not on a terminal) and `ℹ fail N` in the spec reporter (the default from Node 23 on).
 */
/** `node --test` reporting the named test as failed, in TAP (`not ok N - name`) or spec (`✖ name`). */
export function nodeTestFailed(name: string): RegExp {
  return new RegExp(`^\\s*(?:not ok \\d+ - |✖ )${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm');
}

export const NODE_TEST_TAP: TestReading = { command: 'npm test', failed: /^(?:#|ℹ) fail [1-9]/m, passed: /^(?:#|ℹ) fail 0$/m };

export interface FixPlan {
  /** what the model greps for first, and a file the hits must include */
  search: { pattern: string; file_pattern?: string; expectPath: string };
  /** files read before reproducing (sources and tests) */
  read: string[];
  /** the test command, and how its output says red or green */
  tests: TestReading;
  /** text (or pattern) the failing test run must show: the reported symptom */
  failureShows: string | RegExp;
  diagnosis: string;
  fix: readonly FileEdit[];
  /** the test the fix adds (applied with the fix, in the same turn) */
  regressionTest?: FileEdit;
  commitMessage: string;
  summary: string;
}

const tool = (name: string, input: Record<string, unknown> = {}): ReplyBlock => ({ type: 'tool_use', name, input });
const say = (text: string): ReplyBlock => ({ type: 'text', text });

type Req = Parameters<ModelScript>[0];

function results(req: Req, count: number, what: string): string[] {
  const r = lastToolResults(req);
  if (r.length !== count || r.some((x) => x.is_error))
    throw new ScriptDiverged(`expected ${count} good result(s) for ${what}; got ${JSON.stringify(r).slice(0, 400)}`);
  return r.map((x) => x.content);
}

function expect(ok: boolean, what: string, got: string[]): void {
  if (!ok) throw new ScriptDiverged(`expected ${what}; got ${JSON.stringify(got).slice(0, 400)}`);
}

/** read_file numbers lines ("12\t..."): strip that to compare with source text. */
const unnumbered = (text: string) => text.replace(/^\d+\t/gm, '');

/** Colours and styles (ESC [ ... m): runners that think they have a terminal add them, and a model reads past them. */
const ANSI_STYLE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
export const withoutAnsiStyles = (text: string): string => text.replace(ANSI_STYLE, '');

/** A red run: non-zero exit, the runner's failure summary, and the reported symptom. */
export function showsFailure(plan: FixPlan, run: string): boolean {
  const text = withoutAnsiStyles(run);
  return (
    /^Exit code: [1-9]/.test(text) &&
    plan.tests.failed.test(text) &&
    (typeof plan.failureShows === 'string' ? text.includes(plan.failureShows) : plan.failureShows.test(text))
  );
}

/** A green run: exit 0 and the runner's all-passed summary. */
export function showsSuccess(plan: FixPlan, run: string): boolean {
  const text = withoutAnsiStyles(run);
  return text.startsWith('Exit code: 0\n') && plan.tests.passed.test(text);
}

export function scriptedFix(plan: FixPlan): ModelScript {
  const files = changedFiles(plan.fix);
  const { command, timeoutSeconds = 120 } = plan.tests;
  const testRun = tool('run_command', { command, timeout_seconds: timeoutSeconds });
  return (req, turn) => {
    switch (turn) {
      case 0:
        return [say('Let me look at the repository layout.'), tool('list_files')];
      case 1: {
        const [list] = results(req, 1, 'list_files');
        expect(
          plan.read.every((f) => list!.split('\n').includes(f)),
          `the file list to hold ${plan.read.join(', ')}`,
          [list!],
        );
        const { pattern, file_pattern } = plan.search;
        return [tool('search_code', file_pattern ? { pattern, file_pattern } : { pattern })];
      }
      case 2: {
        const [hits] = results(req, 1, 'search_code');
        expect(
          hits!.split('\n').some((l) => l.startsWith(`${plan.search.expectPath}:`)),
          `a hit in ${plan.search.expectPath}`,
          [hits!],
        );
        return plan.read.map((path) => tool('read_file', { path }));
      }
      case 3: {
        const sources = results(req, plan.read.length, 'read_file').map(unnumbered).join('\n');
        // The model only edits what it has read: every line it will replace must be on screen.
        const seen = plan.fix.every((e) => e.old_string.split('\n').every((line) => sources.includes(line)));
        expect(seen, 'the code to change among the files read', [sources]);
        return [say('Reproducing with the tests first.'), testRun];
      }
      case 4: {
        const [run] = results(req, 1, command);
        expect(showsFailure(plan, run!), `failing tests showing "${plan.failureShows}"`, [run!]);
        return [say(plan.diagnosis), ...plan.fix.map((e) => tool('edit_file', { path: e.path, old_string: e.old_string, new_string: e.new_string }))];
      }
      case 5: {
        const edits = results(req, plan.fix.length, 'edit_file');
        expect(
          edits.every((t, i) => t.startsWith(`Edited ${plan.fix[i]!.path}`)),
          'successful edits',
          edits,
        );
        return [testRun];
      }
      case 6: {
        const [run] = results(req, 1, command);
        expect(showsSuccess(plan, run!), 'passing tests after the fix', [run!]);
        return [tool('git_diff')];
      }
      case 7: {
        const [diff] = results(req, 1, 'git_diff');
        const diffLines = diff!.split('\n');
        expect(addedLines(plan.fix).every((l) => diffLines.includes(`+${l}`)) && files.every((f) => diff!.includes(`+++ b/${f}`)), 'the diff of the fix', [
          diff!,
        ]);
        return [tool('git_commit', { message: plan.commitMessage })];
      }
      case 8: {
        const [commit] = results(req, 1, 'git_commit');
        expect(commit!.startsWith('Committed'), 'a commit', [commit!]);
        return [tool('task_complete', { summary: plan.summary, files_changed: files })];
      }
      default:
        throw new ScriptDiverged(`no step for turn ${turn}`);
    }
  };
}
