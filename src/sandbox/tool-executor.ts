/**
 * Executes the agent's tools inside its sandbox. A tool that fails returns an error result the
 * model can read (is_error); only infrastructure failures (Docker gone) throw.
 *
 * Commands (run_command, git, search, list) go through the sandbox's persistent shell (argv
 * only, see sandbox-shell.ts); file contents travel as bytes over a `docker exec`'s
 * stdin/stdout, never inside a shell string. Every path is confined to the workspace, symlinks
 * included (realpath inside the container), and every write passes the scope limits.
 * The scope limits and the denied-command list are guard rails, not the security boundary:
 * the sandbox is (see src/domain/agent/scope.ts).
 *
 * Reading order: run() validates a call and turns refusals into readable results; dispatch() has
 * one case per tool; the private helpers between them are the byte-exact file read and write
 * (confined, scope-checked, syntax-guarded) and the shell calls the cases share.
 */
import type Docker from 'dockerode';
import { applyExactEdit, isToolName, numberLines, toolInputSchemas, type ToolName } from '../domain/agent/agent-tools.js';
import { assertBranchName } from '../domain/fix/ids.js';
import { checkCommand, checkWrite, type ScopeLimits } from '../domain/agent/scope.js';
import { truncateMiddle } from '../domain/agent/truncate.js';
import { isInsideWorkspace, PathOutsideWorkspaceError, resolveWorkspacePath, WORKSPACE } from '../domain/agent/workspace-paths.js';
import { formatCommandResult, MAX_TOOL_OUTPUT_CHARS } from './command-result.js';
import { execInSandbox, type ExecResult } from './exec.js';
import { NulInArgumentError, ShellDiedError, type ShellResult } from './shell.js';
import type { ShellPool } from './shell-pool.js';
import { LIST_FIRST_LINES, SEARCH_FIRST_LINES } from './search-output.js';
import { checkEditSyntax, type Before } from './syntax-check.js';
import type { ToolCall, ToolOutcome, ToolRefusal } from './tool-call.js';

export interface ToolExecutorOptions {
  /** persistent shells; without it every command is its own `docker exec` (slow, but works) */
  shells?: ShellPool;
  scope?: ScopeLimits;
  /** records a refusal (a SafetyEvent row in production) */
  onSafetyEvent?: (event: ToolRefusal) => Promise<void>;
}

const MAX_READ_BYTES = 2 * 1024 * 1024;
class ToolError extends Error {}
class NoSuchFileError extends ToolError {}

/** Resolves symlinks in the container and refuses anything that lands outside the workspace. */
const CONFINED = `p=$(realpath -m -- "$1") || exit 3; case "$p" in ${WORKSPACE}|${WORKSPACE}/*) ;; *) echo "path resolves outside the repository" >&2; exit 3;; esac`;

/**
 * git_diff: new files are part of the change too. Untracked, non-ignored files are marked
 * intent-to-add (`git add -N`) in a throwaway copy of the index, so the real one stays as it was.
 */
const DIFF_WITH_NEW_FILES =
  'x=$(git rev-parse --git-path index) && d=$(mktemp -d) || exit 1; { [ ! -f "$x" ] || cp -- "$x" "$d/index"; } && ' +
  'GIT_INDEX_FILE="$d/index" git add -N -- . && GIT_INDEX_FILE="$d/index" git diff HEAD; r=$?; rm -rf -- "$d"; exit $r';

export class ToolExecutor {
  constructor(
    private readonly docker: Docker,
    private readonly containerId: string,
    private readonly opts: ToolExecutorOptions = {},
  ) {}

  async run(call: ToolCall): Promise<ToolOutcome> {
    const base = { toolUseId: call.id, name: call.name };
    if (!isToolName(call.name)) {
      return { ...base, content: `Unknown tool ${call.name}.`, isError: true, action: `unknown tool ${call.name}`, commandMs: 0 };
    }
    const parsed = toolInputSchemas[call.name].safeParse(call.input ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
      return { ...base, content: `Invalid input for ${call.name}: ${problems}`, isError: true, action: `${call.name} (invalid input)`, commandMs: 0 };
    }
    const action = describe(call.name, parsed.data as Record<string, unknown>);
    try {
      const result = await this.dispatch(call.name, parsed.data as Record<string, unknown>);
      return {
        ...base,
        content: truncateMiddle(result.content, MAX_TOOL_OUTPUT_CHARS),
        isError: false,
        action,
        completion: result.completion,
        commandMs: result.commandMs ?? 0,
      };
    } catch (err) {
      if (err instanceof ShellDiedError) {
        const content =
          `The shell running this ended abruptly (${err.message}): the command killed its own shell, or the sandbox ` +
          'ran out of memory. A fresh shell is ready; files in the repository keep whatever the command wrote.';
        return { ...base, content, isError: true, action: `${action} (shell died)`, commandMs: 0 };
      }
      if (err instanceof ToolError || err instanceof PathOutsideWorkspaceError || err instanceof NulInArgumentError) {
        return { ...base, content: err.message, isError: true, action: `${action} (error)`, commandMs: 0 };
      }
      throw err;
    }
  }

  /** Commands through the persistent shell (falls back to an exec per command without a pool). */
  private async cmd(argv: string[], timeoutMs = 120_000): Promise<ShellResult> {
    if (this.opts.shells) return this.opts.shells.run(this.containerId, argv, { timeoutMs });
    const r = await execInSandbox(this.docker, this.containerId, argv, { timeoutMs });
    return { ...r, ...r.captured };
  }

  /**
   * Runs argv only if `abs` resolves inside the workspace: a path that is (or passes through) a
   * symlink out, like `etc-link -> /etc`, would otherwise let rg read there. Same check as the
   * file tools, in the same shell call as the command (no extra round trip).
   */
  private async cmdConfined(abs: string, argv: string[]): Promise<ShellResult> {
    const r = await this.cmd(['sh', '-c', `${CONFINED}; shift; exec "$@"`, 'sh', abs, ...argv]);
    // rg exits 0, 1 or 2; 3 is CONFINED's refusal.
    if (r.exitCode === 3) throw new ToolError(`${r.stderr.text().trim() || 'path resolves outside the repository'}: ${abs.slice(WORKSPACE.length + 1)}`);
    return r;
  }

  /**
   * Byte-exact transfer: one exec with the content on stdin / stdout. A read says how many bytes
   * it takes: past them it fails rather than return a cut file (execInSandbox bounds the rest).
   */
  private exec(argv: string[], stdin?: Buffer, exactStdoutBytes?: number): Promise<ExecResult> {
    return execInSandbox(this.docker, this.containerId, argv, { stdin, exactStdoutBytes });
  }

  /**
   * A file's bytes, whole. One byte past the limit tells a file over it from one exactly at it:
   * a bigger file is refused, never returned cut (an edit would write the cut copy back).
   */
  private async readBytes(path: string): Promise<Buffer> {
    const abs = resolveWorkspacePath(path);
    const read = `${CONFINED}; [ -f "$p" ] || { echo "no such file: $2" >&2; exit 4; }; head -c ${MAX_READ_BYTES + 1} -- "$p"`;
    const tooBig = new ToolError(
      `${path} is over ${MAX_READ_BYTES} bytes (2 MiB), more than read_file and edit_file take. ` +
        "Use run_command to read parts of it (sed -n '100,200p', grep -n, head, tail) or to change it (sed -i).",
    );
    // head stops one byte past the limit, so the exact read never overflows: one byte too many is the sign.
    const r = await this.exec(['sh', '-c', read, 'sh', abs, path], undefined, MAX_READ_BYTES + 1);
    if (r.exitCode === 4) throw new NoSuchFileError(r.stderr.toString().trim());
    if (r.exitCode !== 0) throw new ToolError(r.stderr.toString().trim() || `cannot read ${path}`);
    if (r.stdout.length > MAX_READ_BYTES) throw tooBig;
    return r.stdout;
  }

  /** Writes once the scope checks and then `guard` (which may refuse) have passed; returns guard's note. */
  private async writeBytes(path: string, content: Buffer, guard: () => Promise<string> = () => Promise.resolve('')): Promise<string> {
    const abs = resolveWorkspacePath(path);
    await this.checkScope(path, abs.slice(WORKSPACE.length + 1), content.length);
    // The path the write really lands on (a symlink to .env is a write to .env).
    const real = (await this.cmd(['realpath', '-m', '--', abs])).stdout.text().trim();
    if (!isInsideWorkspace(real)) throw new ToolError(`path resolves outside the repository: ${path}`);
    if (real !== abs) await this.checkScope(path, real.slice(WORKSPACE.length + 1), content.length);
    const note = await guard();
    const r = await this.exec(['sh', '-c', `${CONFINED}; mkdir -p -- "$(dirname -- "$p")" && cat > "$p"`, 'sh', abs], content);
    if (r.exitCode !== 0) throw new ToolError(r.stderr.toString().trim() || `cannot write ${path}`);
    return note;
  }

  /** The syntax guard's verdict on new content: a note for the result, or a refusal. */
  private async guardSyntax(path: string, next: string, before: () => Promise<Before>): Promise<string> {
    const verdict = await checkEditSyntax(path, next, before);
    if (!verdict.ok) throw new ToolError(verdict.refusal);
    return verdict.note;
  }

  /** The current content for guardSyntax; a file too big or unreadable is not judged. */
  private async before(path: string): Promise<Before> {
    try {
      return { text: (await this.readBytes(path)).toString('utf8') };
    } catch (err) {
      if (err instanceof NoSuchFileError) return 'new';
      if (err instanceof ToolError) return 'unreadable';
      throw err;
    }
  }

  private async checkScope(requested: string, rel: string, size: number): Promise<void> {
    const verdict = checkWrite(rel, size, this.opts.scope);
    if (verdict.ok) return;
    await this.opts.onSafetyEvent?.({ kind: 'scope_violation', message: verdict.reason, details: { path: requested, resolved: rel, bytes: size } });
    throw new ToolError(verdict.reason);
  }

  private async dispatch(
    name: ToolName,
    input: Record<string, unknown>,
  ): Promise<{ content: string; completion?: ToolOutcome['completion']; commandMs?: number }> {
    switch (name) {
      case 'read_file': {
        const bytes = await this.readBytes(String(input.path));
        if (bytes.includes(0)) return { content: `${String(input.path)} is a binary file (${bytes.length} bytes); not shown.` };
        const text = bytes.toString('utf8');
        return { content: numberLines(text, (input.start_line as number | undefined) ?? 1, input.end_line as number | undefined) };
      }
      case 'write_file': {
        const path = String(input.path);
        const bytes = Buffer.from(String(input.content), 'utf8');
        const note = await this.writeBytes(path, bytes, () => this.guardSyntax(path, String(input.content), () => this.before(path)));
        return { content: `Wrote ${bytes.length} bytes to ${path}.${note}` };
      }
      case 'edit_file': {
        const bytes = await this.readBytes(String(input.path));
        const current = bytes.toString('utf8');
        // Decoded and encoded again, every byte that is not UTF-8 would come back as U+FFFD, all
        // over the file and not only where the edit is: refused, changing nothing.
        if (!Buffer.from(current, 'utf8').equals(bytes)) {
          throw new ToolError(
            `${String(input.path)} is not UTF-8 text; edit_file would corrupt its other bytes. Change it with run_command instead (e.g. sed -i).`,
          );
        }
        const edit = applyExactEdit(current, String(input.old_string), String(input.new_string));
        if (!edit.ok) throw new ToolError(edit.error);
        const note = await this.writeBytes(String(input.path), Buffer.from(edit.content, 'utf8'), () =>
          this.guardSyntax(String(input.path), edit.content, () => Promise.resolve({ text: current })),
        );
        return { content: `Edited ${String(input.path)}: replaced 1 occurrence.${note}` };
      }
      case 'list_files': {
        const dir = resolveWorkspacePath(input.path as string | undefined);
        const argv = ['bash', '-c', LIST_FIRST_LINES, 'rg', '--files', '--hidden', '--sort', 'path', '-g', '!.git'];
        if (input.pattern) argv.push('-g', String(input.pattern));
        const r = await this.cmdConfined(dir, [...argv, ...searchRoot(dir)]);
        if (r.exitCode > 1) throw new ToolError(r.stderr.text().trim());
        const files = r.stdout.text().trimEnd();
        return { content: files || '(no files match)' };
      }
      case 'search_code': {
        const dir = resolveWorkspacePath(input.path as string | undefined);
        // --with-filename: rg leaves the path out when it searches a single file.
        const rg = ['-n', '--with-filename', '--no-heading', '--hidden', '--sort', 'path', '-g', '!.git', '--max-columns', '300'];
        if (input.file_pattern) rg.push('-g', String(input.file_pattern));
        rg.push('-e', String(input.pattern), ...searchRoot(dir));
        const r = await this.cmdConfined(dir, ['bash', '-c', SEARCH_FIRST_LINES, 'rg', ...rg]);
        if (r.exitCode === 1) return { content: '(no matches)' };
        if (r.exitCode !== 0) throw new ToolError(`search failed: ${r.stderr.text().trim()}`);
        return { content: r.stdout.text() };
      }
      case 'run_command': {
        const command = String(input.command);
        const verdict = checkCommand(command);
        if (!verdict.ok) {
          await this.opts.onSafetyEvent?.({
            kind: 'command_denied',
            message: verdict.reason,
            details: { rule: verdict.rule, command: command.slice(0, 2000) },
          });
          throw new ToolError(verdict.reason);
        }
        const timeoutMs = ((input.timeout_seconds as number | undefined) ?? 120) * 1000;
        // The model's own command line, run by bash as its argument; stdin is /dev/null.
        const r = await this.cmd(['bash', '-c', command], timeoutMs);
        return { content: formatCommandResult(r, timeoutMs), commandMs: Math.round(r.durationMs) };
      }
      case 'git_status':
        return { content: (await this.gitOk(['status', '--short', '--branch'])) || '(clean)' };
      case 'git_diff': {
        const r = await this.cmd(['sh', '-c', DIFF_WITH_NEW_FILES]);
        if (r.exitCode !== 0) throw new ToolError(`git diff failed: ${r.stderr.text().trim()}`);
        return { content: r.stdout.text() || '(no changes)' };
      }
      case 'git_create_branch': {
        let branch: string;
        try {
          branch = assertBranchName(String(input.branch_name));
        } catch (err) {
          throw new ToolError((err as Error).message);
        }
        await this.gitOk(['checkout', '-q', '-b', branch]);
        return { content: `Switched to a new branch ${branch}.` };
      }
      case 'git_commit': {
        await this.gitOk(['add', '-A']);
        const staged = await this.cmd(['git', 'diff', '--cached', '--quiet']);
        if (staged.exitCode === 0) throw new ToolError('Nothing to commit: the working tree has no changes.');
        await this.gitOk(['commit', '-q', '-m', String(input.message)]);
        return { content: `Committed ${(await this.gitOk(['rev-parse', '--short', 'HEAD'])).trim()}.` };
      }
      case 'task_complete': {
        const summary = String(input.summary);
        const filesChanged = (input.files_changed as string[] | undefined) ?? [];
        return { content: 'Noted. The service will now validate your work.', completion: { summary, filesChanged } };
      }
    }
  }

  private async gitOk(args: string[]): Promise<string> {
    const r = await this.cmd(['git', ...args]);
    if (r.exitCode !== 0) throw new ToolError(`git ${args[0]} failed: ${r.stderr.text().trim()}`);
    return r.stdout.text();
  }
}

/** rg's path argument: none for the root, so results read `src/a.js` rather than `./src/a.js`. */
function searchRoot(dir: string): string[] {
  const rel = dir.slice(WORKSPACE.length + 1);
  return rel ? ['--', rel] : [];
}

function describe(name: ToolName, input: Record<string, unknown>): string {
  const arg = (input.path ?? input.command ?? input.pattern ?? input.branch_name ?? input.message ?? '') as string;
  const short = String(arg).replace(/\s+/g, ' ').slice(0, 80);
  return short ? `${name} ${short}` : name;
}
