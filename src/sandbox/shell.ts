/**
 * A persistent shell per sandbox: one attached `docker exec` of bash that runs command after
 * command, so a tool call costs a write and a read on an open connection instead of a new exec
 * (tens of ms each). See bench/tools.ts for the measured difference.
 *
 * Protocol (data never becomes shell code): each request is a header line
 * `<sentinel> <timeout seconds> <argc>` followed by each argument as `<byte length>\n<bytes>`,
 * read by bash's `read -N` into an array and run as argv. The command runs as a job in its own
 * process group, which a watchdog kills whole at the deadline; afterwards the driver kills the
 * group again and every process that left it (setsid, a double fork), so nothing of a command
 * outlives it or writes into the next command's output. Stdin is /dev/null. The driver then prints `<sentinel> <exit code>` on
 * stdout AND stderr, so the end of both streams is known exactly.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WORKSPACE } from '../domain/agent/workspace-paths.js';
import { OutputCapture } from './output-capture.js';

const DRIVER = [
  // Not exported: bash reads arguments byte-wise, commands keep the container's UTF-8 locale.
  'LC_ALL=C',
  // Job control: every background job gets its own process group (pgid = its pid), so a
  // command and everything it spawns can be killed at once without spawning `setsid`/`timeout`.
  'set -m',
  // Job notices ("[1]+ Done ...") go to the shell's own stderr: send that to /dev/null and keep
  // the exec's stderr on fd 3 for the commands and the sentinel.
  'exec 3>&2 2>/dev/null',
  // Watchdog (builtins only, no process per command): told "<pgid> <seconds>" when a command
  // starts, it waits that long for "done" and otherwise kills the command's whole group.
  'coproc WD { exec 3>&-;  while read -r g t; do if ! read -r -t "$t" _; then kill -KILL -- "-$g" 2>/dev/null; read -r _; fi; done; }',
  // Sweep (builtins only): a process that left the command's group (setsid, a double fork) is
  // killed too. Killed: whatever hangs below init (orphans) or below this shell, except init and
  // the container's own process (session 1, remembered as M), this shell and its watchdog.
  // Processes of another exec (a file transfer, validation) are left alone. Repeated until a
  // pass finds nothing, so a process forking while it is being killed does not get away either.
  // With nothing left over, a pass reads no file: it lists /proc and compares four numbers.
  'declare -A up',
  'M=0',
  'sweep() {',
  '  local k f l x q i s',
  '  for ((k = 0; k < 20; k++)); do',
  '    up=() i=0',
  '    for f in /proc/[1-9]*; do',
  '      x=${f#/proc/}',
  '      ((x == 1 || x == $$ || x == WD_PID || x == M)) && continue',
  // /proc/<pid>/stat: pid (comm) state ppid pgrp session ..., and comm may hold spaces or ")".
  '      IFS= read -r l <"$f/stat" || continue',
  '      l=${l##*) } && [[ ${l%% *} != Z ]] || continue',
  '      l=${l#* } && up[$x]=${l%% *} && l=${l#* } && l=${l#* } && s=${l%% *}',
  '      ((s == 1)) && M=$x && unset "up[$x]"',
  '    done',
  '    for x in "${!up[@]}"; do',
  '      q=$x',
  '      while ((q != 1 && q != $$ && ${up[$q]:-0} != 0)); do q=${up[$q]}; done',
  '      ((q == 1 || q == $$)) && kill -KILL "$x" && ((i += 1))',
  '    done',
  '    ((i)) || return 0',
  '  done',
  '}',
  'while IFS=" " read -r s t n; do',
  '  a=()',
  '  for ((i = 0; i < n; i++)); do',
  '    IFS= read -r l || exit 0',
  '    v=',
  '    if ((l > 0)); then IFS= read -r -N "$l" v || exit 0; fi',
  '    a+=("$v")',
  '  done',
  '  "${a[@]}" </dev/null 2>&3 3>&- &',
  '  p=$!',
  '  echo "$p $t" >&"${WD[1]}"',
  '  wait "$p"',
  '  r=$?',
  '  echo done >&"${WD[1]}"',
  // Leftover background processes of the command must not write into the next one's output.
  '  kill -KILL -- "-$p" 2>/dev/null',
  '  sweep',
  '  printf "%s %d\\n" "$s" "$r"',
  '  printf "%s %d\\n" "$s" "$r" >&3',
  'done',
].join('\n');

/** Exit code of a command killed by SIGKILL (timeout, OOM killer). */
export const SIGKILL_EXIT = 137;

export interface ShellResult {
  exitCode: number;
  stdout: OutputCapture;
  stderr: OutputCapture;
  timedOut: boolean;
  durationMs: number;
}

export interface ShellRunOptions {
  timeoutMs?: number;
  /** bytes kept at each end of each stream */
  captureBytes?: number;
}

/** The shell process ended (killed, OOM, exec gone): the command's fate is unknown. */
export class ShellDiedError extends Error {
  override name = 'ShellDiedError';
}

/**
 * An argument with a NUL byte: no argv can carry one (C strings end there), and bash's `read`
 * drops it, so the length prefix would be off by one and desynchronise the protocol.
 */
export class NulInArgumentError extends Error {
  override name = 'NulInArgumentError';
}

/** Finds `<sentinel> <code>\n` in a byte stream; everything before it is the command's output. */
class SentinelFramer {
  private pending = Buffer.alloc(0);
  exitCode: number | undefined;

  constructor(
    private readonly sentinel: Buffer,
    private readonly out: OutputCapture,
  ) {}

  feed(chunk: Buffer): void {
    if (this.exitCode !== undefined) return;
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const at = buf.indexOf(this.sentinel);
    if (at >= 0) {
      const nl = buf.indexOf(10, at);
      if (nl >= 0) {
        this.out.push(buf.subarray(0, at));
        this.exitCode = Number(
          buf
            .subarray(at + this.sentinel.length, nl)
            .toString()
            .trim(),
        );
        this.pending = Buffer.alloc(0);
        return;
      }
      this.out.push(buf.subarray(0, at));
      this.pending = Buffer.from(buf.subarray(at));
      return;
    }
    // Keep just enough to recognise a sentinel split across chunks.
    const keep = Math.min(buf.length, this.sentinel.length);
    this.out.push(buf.subarray(0, buf.length - keep));
    this.pending = Buffer.from(buf.subarray(buf.length - keep));
  }
}

interface Pending {
  stdout: SentinelFramer;
  stderr: SentinelFramer;
  resolve(): void;
  reject(err: Error): void;
}

export class SandboxShell {
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private dead: Error | undefined;
  private readonly onClose: Array<() => void> = [];

  private constructor(
    private readonly stream: Duplex,
    readonly containerId: string,
    readonly marker: string,
  ) {
    let header: Buffer = Buffer.alloc(0);
    let frameType = 0;
    let frameLeft = 0;
    // Docker's multiplexed stream: 8-byte header (type, 3 zero bytes, big-endian length), payload.
    stream.on('data', (chunk: Buffer) => {
      while (chunk.length) {
        if (frameLeft === 0) {
          const need = 8 - header.length;
          header = Buffer.concat([header, chunk.subarray(0, need)]);
          chunk = chunk.subarray(need);
          if (header.length < 8) return;
          frameType = header[0]!;
          frameLeft = header.readUInt32BE(4);
          header = Buffer.alloc(0);
          continue;
        }
        const part = chunk.subarray(0, frameLeft);
        chunk = chunk.subarray(part.length);
        frameLeft -= part.length;
        const p = this.pending;
        if (p) (frameType === 2 ? p.stderr : p.stdout).feed(part);
        if (p && p.stdout.exitCode !== undefined && p.stderr.exitCode !== undefined) p.resolve();
      }
    });
    const die = (why: string) => {
      if (this.dead) return;
      this.dead = new ShellDiedError(why);
      this.pending?.reject(this.dead);
      for (const f of this.onClose) f();
    };
    stream.on('end', () => die('the sandbox shell exited'));
    stream.on('close', () => die('the sandbox shell exited'));
    stream.on('error', (e: Error) => die(`the sandbox shell connection failed: ${e.message}`));
  }

  static async start(docker: Docker, containerId: string): Promise<SandboxShell> {
    const marker = `bugfix-shell-${randomBytes(6).toString('hex')}`;
    const exec = await docker.getContainer(containerId).exec({
      // $0 = marker: names this shell's processes in `ps` (and for `pkill -f` by an operator).
      Cmd: ['bash', '--noprofile', '--norc', '-c', DRIVER, marker],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      WorkingDir: WORKSPACE,
    });
    const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
    return new SandboxShell(stream, containerId, marker);
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  whenClosed(f: () => void): void {
    if (this.dead) f();
    else this.onClose.push(f);
  }

  /** Runs argv (never a shell string of ours); commands on one shell run one at a time. */
  run(argv: string[], opts: ShellRunOptions = {}): Promise<ShellResult> {
    // Refused before anything is written: the shell stays in step for the next command.
    if (argv.some((a) => a.includes('\0'))) {
      return Promise.reject(
        new NulInArgumentError(
          "The input contains a NUL byte, which no command line can carry; nothing was run. Write it as an escape instead (printf '\\0').",
        ),
      );
    }
    const next = this.queue.then(() => this.runNow(argv, opts));
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.stream.destroy();
  }

  private async runNow(argv: string[], opts: ShellRunOptions): Promise<ShellResult> {
    if (this.dead) throw this.dead;
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const cap = opts.captureBytes ?? 64 * 1024;
    const sentinel = `__bugfix_${randomBytes(16).toString('hex')}__`;
    const stdout = new OutputCapture(cap, cap);
    const stderr = new OutputCapture(cap, cap);
    const parts: Buffer[] = [Buffer.from(`${sentinel} ${(timeoutMs / 1000).toFixed(3)} ${argv.length}\n`)];
    for (const arg of argv) {
      const bytes = Buffer.from(arg, 'utf8');
      parts.push(Buffer.from(`${bytes.length}\n`), bytes);
    }
    const started = performance.now();
    const sentinelBytes = Buffer.from(sentinel);
    const outFramer = new SentinelFramer(sentinelBytes, stdout);
    const done = new Promise<void>((resolve, reject) => {
      this.pending = { stdout: outFramer, stderr: new SentinelFramer(sentinelBytes, stderr), resolve, reject };
    });
    // Backstop for a shell that stops answering (the in-container timeout is the primary kill).
    const guard = setTimeout(() => {
      this.pending?.reject(new ShellDiedError(`the sandbox shell did not answer within ${Math.round(timeoutMs / 1000) + 10} s`));
      this.close();
    }, timeoutMs + 10_000);
    try {
      this.stream.write(Buffer.concat(parts));
      await done;
    } finally {
      clearTimeout(guard);
      this.pending = undefined;
    }
    const exitCode = outFramer.exitCode ?? -1;
    const durationMs = performance.now() - started;
    return {
      exitCode,
      stdout,
      stderr,
      // SIGKILL at or after the deadline is the timeout's; earlier it is someone else's (OOM).
      timedOut: exitCode === SIGKILL_EXIT && durationMs >= timeoutMs - 50,
      durationMs,
    };
  }
}
