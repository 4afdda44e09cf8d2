/**
 * The persistent shells of this worker process, one per sandbox container, created on first use.
 * Owned by createActivities (not a module singleton) so tests and benches get their own.
 *
 * When a shell dies (the command killed it, the OOM killer picked it, the exec was killed), the
 * pool tells a lost container (SandboxGone, the workflow provisions again) from a lost shell
 * (a new shell is started at once and the caller gets ShellDiedError to report readably).
 * When a shell cannot be attached at all, commands fall back to one `docker exec` each.
 */
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { SANDBOX_GONE } from '../domain/fix/sandbox-errors.js';
import { asSandboxGone, execInSandbox } from './exec.js';
import { SandboxShell, ShellDiedError, type ShellResult, type ShellRunOptions } from './shell.js';

export class ShellPool {
  private readonly shells = new Map<string, Promise<SandboxShell>>();

  constructor(private readonly docker: Docker) {}

  get size(): number {
    return this.shells.size;
  }

  async run(containerId: string, argv: string[], opts: ShellRunOptions = {}): Promise<ShellResult> {
    let shell: SandboxShell;
    try {
      shell = await this.get(containerId);
    } catch (err) {
      const gone = asSandboxGone(err, containerId);
      if (gone !== err) throw gone;
      return this.viaExec(containerId, argv, opts);
    }
    try {
      return await shell.run(argv, opts);
    } catch (err) {
      if (!(err instanceof ShellDiedError)) throw err;
      this.drop(containerId, shell);
      await this.assertContainerRunning(containerId);
      // Start the replacement now: the next tool call must not pay for it, and a container that
      // cannot run a shell any more should fail here, in the call that broke it.
      await this.get(containerId).catch((e: unknown) => {
        throw asSandboxGone(e, containerId);
      });
      throw err;
    }
  }

  /** Closes the shell of a container (it is being removed). */
  close(containerId: string): void {
    const shell = this.shells.get(containerId);
    this.shells.delete(containerId);
    void shell?.then(
      (s) => s.close(),
      () => undefined,
    );
  }

  closeAll(): void {
    for (const id of [...this.shells.keys()]) this.close(id);
  }

  private get(containerId: string): Promise<SandboxShell> {
    let shell = this.shells.get(containerId);
    if (!shell) {
      shell = SandboxShell.start(this.docker, containerId).then((s) => {
        s.whenClosed(() => this.drop(containerId, s));
        return s;
      });
      this.shells.set(containerId, shell);
      shell.catch(() => this.shells.delete(containerId));
    }
    return shell;
  }

  private drop(containerId: string, shell: SandboxShell): void {
    const current = this.shells.get(containerId);
    if (!current) return;
    void current.then(
      (s) => {
        if (s === shell && this.shells.get(containerId) === current) this.shells.delete(containerId);
      },
      () => undefined,
    );
  }

  private async assertContainerRunning(containerId: string): Promise<void> {
    let running = false;
    try {
      running = (await this.docker.getContainer(containerId).inspect()).State.Running;
    } catch (err) {
      throw asSandboxGone(err, containerId);
    }
    if (!running) throw ApplicationFailure.nonRetryable(`sandbox container ${containerId.slice(0, 12)} stopped`, SANDBOX_GONE);
  }

  /** Fallback: one exec per command, its output bounded by the same head and tail windows. */
  private async viaExec(containerId: string, argv: string[], opts: ShellRunOptions): Promise<ShellResult> {
    const r = await execInSandbox(this.docker, containerId, argv, { timeoutMs: opts.timeoutMs, captureBytes: opts.captureBytes });
    return { exitCode: r.exitCode, stdout: r.captured.stdout, stderr: r.captured.stderr, timedOut: r.timedOut, durationMs: r.durationMs };
  }
}
