/**
 * The agent's tools as the model sees them, and the validation of its inputs. Descriptions say
 * exactly what each tool does and returns, because the model has nothing else to go on.
 */
import { z } from 'zod';

export interface ToolDefinition {
  name: string;
  description: string;
  input_schema: { type: 'object'; properties: Record<string, unknown>; required: string[] };
}

const str = (description: string) => ({ type: 'string', description });
const int = (description: string) => ({ type: 'integer', description });

export const AGENT_TOOLS: ToolDefinition[] = [
  {
    name: 'read_file',
    description:
      'Read a text file of the repository. Returns its lines prefixed with line numbers ("12\\t..."). ' +
      'Use start_line/end_line (1-based, inclusive) for large files. Paths are relative to the repository root. ' +
      'Files over 2 MiB are refused: read parts of them with run_command (sed -n, grep -n).',
    input_schema: {
      type: 'object',
      properties: { path: str('File path relative to the repository root'), start_line: int('First line (1-based)'), end_line: int('Last line (inclusive)') },
      required: ['path'],
    },
  },
  {
    name: 'write_file',
    description:
      'Create or overwrite a file with the given content (parent folders are created). Returns the byte count written. ' +
      'JS/TS, Python, Go, Java, JSON and YAML files are parsed first: content that does not parse is refused with the error and the lines around it, ' +
      'writing nothing (unless the file did not parse before either).',
    input_schema: {
      type: 'object',
      properties: { path: str('File path relative to the repository root'), content: str('The complete new file content') },
      required: ['path', 'content'],
    },
  },
  {
    name: 'edit_file',
    description:
      'Replace one exact occurrence of old_string with new_string in a file. old_string must match the file ' +
      'byte for byte (including indentation) and must occur exactly once: include surrounding lines to make it unique. ' +
      'Fails, changing nothing, when it occurs 0 or more than 1 times, or when the file is not UTF-8 text or is over 2 MiB (use run_command, e.g. sed -i, for those), ' +
      'or when the edit would make a JS/TS, Python, Go, Java, JSON or YAML file that parsed stop parsing (the error and the lines around it are returned).',
    input_schema: {
      type: 'object',
      properties: {
        path: str('File path relative to the repository root'),
        old_string: str('Exact text to replace; must be unique in the file'),
        new_string: str('Replacement text'),
      },
      required: ['path', 'old_string', 'new_string'],
    },
  },
  {
    name: 'list_files',
    description:
      'List files (not ignored by .gitignore) under a folder, optionally filtered by a glob such as "**/*.ts". ' +
      'Returns one path per line, at most 200; a last line says how many more there are.',
    input_schema: { type: 'object', properties: { path: str('Folder (default: repository root)'), pattern: str('Glob filter') }, required: [] },
  },
  {
    name: 'search_code',
    description:
      'Search file contents with a regular expression (ripgrep syntax). Returns "path:line:text" matches, at most 100; a last line says how many more there are.',
    input_schema: {
      type: 'object',
      properties: {
        pattern: str('Regular expression'),
        path: str('Folder to search (default: root)'),
        file_pattern: str('Glob of files to search, e.g. "*.ts"'),
      },
      required: ['pattern'],
    },
  },
  {
    name: 'run_command',
    description:
      'Run a shell command (bash) in the repository root, e.g. "npm test". Each call starts fresh in the root (cd and exports do not carry over), ' +
      'stdin is empty, and background processes end with the command. There is no network; pushing, network clients and similar commands are refused. ' +
      'Returns the exit code, stdout and stderr (long output keeps head and tail and says how much was cut; binary output is not shown).',
    input_schema: {
      type: 'object',
      properties: { command: str('The command line'), timeout_seconds: int('Timeout in seconds (default 120, max 600)') },
      required: ['command'],
    },
  },
  { name: 'git_status', description: 'Show `git status --short --branch`.', input_schema: { type: 'object', properties: {}, required: [] } },
  {
    name: 'git_diff',
    description: 'Show the diff of all changes against the last commit: staged, unstaged and new (untracked, not ignored) files.',
    input_schema: { type: 'object', properties: {}, required: [] },
  },
  {
    name: 'git_create_branch',
    description:
      'Create and switch to a new local branch named fix/<lowercase-words>, for your own use only: the service pushes your commits (HEAD) to a branch it names itself, ' +
      'and the branch name is not kept if the sandbox has to be rebuilt. You do not need a branch to finish the task.',
    input_schema: { type: 'object', properties: { branch_name: str('e.g. fix/pagination-off-by-one') }, required: ['branch_name'] },
  },
  {
    name: 'git_commit',
    description: 'Stage all changes and commit them with the message. Pushing is done by the service after validation, not by you.',
    input_schema: { type: 'object', properties: { message: str('Commit message') }, required: ['message'] },
  },
  {
    name: 'task_complete',
    description: "Call when the bug is fixed and the tests pass. The service then runs the project's validation; if it fails you get the output and continue.",
    input_schema: {
      type: 'object',
      properties: {
        summary: str('What was wrong and what you changed'),
        files_changed: { type: 'array', items: { type: 'string' }, description: 'Files you modified' },
      },
      required: ['summary'],
    },
  },
];

export const toolInputSchemas = {
  read_file: z.object({ path: z.string().min(1), start_line: z.number().int().min(1).optional(), end_line: z.number().int().min(1).optional() }),
  write_file: z.object({ path: z.string().min(1), content: z.string() }),
  edit_file: z.object({ path: z.string().min(1), old_string: z.string().min(1), new_string: z.string() }),
  list_files: z.object({ path: z.string().optional(), pattern: z.string().optional() }),
  search_code: z.object({ pattern: z.string().min(1), path: z.string().optional(), file_pattern: z.string().optional() }),
  run_command: z.object({ command: z.string().min(1), timeout_seconds: z.number().int().min(1).max(600).optional() }),
  git_status: z.object({}),
  git_diff: z.object({}),
  git_create_branch: z.object({ branch_name: z.string().min(1) }),
  git_commit: z.object({ message: z.string().min(1) }),
  task_complete: z.object({ summary: z.string().min(1), files_changed: z.array(z.string()).optional() }),
} as const;

export type ToolName = keyof typeof toolInputSchemas;
export type ToolInput<N extends ToolName> = z.infer<(typeof toolInputSchemas)[N]>;

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(toolInputSchemas, name);
}

export type EditOutcome = { ok: true; content: string } | { ok: false; error: string };

/** Exact, unique replacement: the rule the edit_file description promises the model. */
export function applyExactEdit(content: string, oldString: string, newString: string): EditOutcome {
  const first = content.indexOf(oldString);
  if (first === -1)
    return { ok: false, error: 'old_string was not found in the file (it must match exactly, including whitespace). Read the file and try again.' };
  const second = content.indexOf(oldString, first + 1);
  if (second !== -1) {
    const count = content.split(oldString).length - 1;
    return { ok: false, error: `old_string occurs ${count} times; include more surrounding lines so it occurs exactly once.` };
  }
  return { ok: true, content: content.slice(0, first) + newString + content.slice(first + oldString.length) };
}

/** read_file output: numbered lines, optionally a range. */
export function numberLines(content: string, start = 1, end?: number): string {
  const lines = content.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const last = Math.min(end ?? lines.length, lines.length);
  const out: string[] = [];
  for (let i = start; i <= last; i++) out.push(`${i}\t${lines[i - 1]}`);
  if (out.length === 0) return `(no lines in range ${start}-${end ?? ''}; the file has ${lines.length} lines)`;
  return out.join('\n');
}
