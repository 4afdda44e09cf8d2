/**
 * The scripted model for a fix and its follow-up round: a first conversation is the pagination
 * fix; a conversation that opens with reviewers' feedback (a follow-up round) reads each thread's
 * "Please add this comment above the line: `…`", reads that line of that file, adds the comment
 * above it, commits and completes; a round for a failed check does the same for each log line
 * "<path>:<line>: expected a comment `…` above this line". It diverges (HTTP 400) when a thread it needs is missing from
 * the first message, so a round that lost a thread fails.
 */
import { lastToolResults, type ModelScript, type ReplyBlock } from '../stand-ins/anthropic-api.js';
import { paginationScenario, ScriptDiverged } from './pagination.js';

const tool = (name: string, input: Record<string, unknown> = {}): ReplyBlock => ({ type: 'tool_use', name, input });

type Request = Parameters<ModelScript>[0];

function openingText(req: Request): string {
  const first = req.messages[0];
  if (!first) return '';
  if (typeof first.content === 'string') return first.content;
  return first.content.map((b) => (b.type === 'text' ? String(b.text ?? '') : '')).join('\n');
}

interface Ask {
  path: string;
  line: number;
  comment: string;
}

/** Each thread's request, in the order the feedback lists them. */
export function reviewAsks(opening: string): Ask[] {
  const threads = opening.split(/^Thread \d+ on /m).slice(1);
  return threads.map((t) => {
    const where = /^(\S+) line (\d+):/.exec(t);
    const asked = /Please add this comment above the line: `([^`]+)`/.exec(t);
    if (!where || !asked) throw new ScriptDiverged(`a thread without a request: ${t.slice(0, 200)}`);
    return { path: where[1]!, line: Number(where[2]), comment: asked[1]! };
  });
}

/** What a failed check's log asks for (a linter's complaint, say). */
export function checkAsks(opening: string): Ask[] {
  return [...opening.matchAll(/^(\S+):(\d+): expected a comment `([^`]+)` above this line$/gm)].map((m) => ({
    path: m[1]!,
    line: Number(m[2]),
    comment: m[3]!,
  }));
}

export function reviewRoundScenario(opts: { threads: number }): ModelScript {
  return (req, turn) => {
    const opening = openingText(req);
    const onCheck = opening.includes('<check_failure');
    if (!onCheck && !opening.includes('<review_feedback')) return paginationScenario(req, turn);
    const asks = onCheck ? checkAsks(opening) : reviewAsks(opening);
    if (onCheck ? asks.length === 0 : asks.length !== opts.threads)
      throw new ScriptDiverged(`expected ${onCheck ? 'a request in the check log' : `${opts.threads} review threads`}, got ${asks.length}`);
    switch (turn) {
      case 0:
        return [
          { type: 'text', text: 'Reading the lines the reviewers commented on.' },
          ...asks.map((a) => tool('read_file', { path: a.path, start_line: a.line, end_line: a.line })),
        ];
      case 1: {
        const results = lastToolResults(req);
        return asks.map((a, i) => {
          const line = /^\s*\d+\t(.*)$/m.exec(results[i]?.content ?? '')?.[1];
          if (!line) throw new ScriptDiverged(`no line ${a.line} of ${a.path}: ${JSON.stringify(results[i]).slice(0, 200)}`);
          const indent = /^\s*/.exec(line)![0];
          return tool('edit_file', { path: a.path, old_string: line, new_string: `${indent}// ${a.comment}\n${line}` });
        });
      }
      case 2:
        if (!lastToolResults(req).every((r) => !r.is_error && r.content.startsWith('Edited'))) throw new ScriptDiverged('an edit failed');
        return [tool('git_commit', { message: 'Add the comments the review asked for' })];
      case 3:
        return [
          tool('task_complete', {
            summary: asks.map((a) => `Added "// ${a.comment}" above ${a.path}:${a.line}.`).join(' '),
            files_changed: [...new Set(asks.map((a) => a.path))],
          }),
        ];
      default:
        throw new ScriptDiverged(`no step for turn ${turn} of a review round`);
    }
  };
}
