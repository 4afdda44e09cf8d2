/**
 * Workspace checkpoints: after each turn's tools ran, the sandbox's state relative to the commit
 * the fix started from is saved in PostgreSQL, so that a lost container (host gone, Docker
 * restarted, container killed) can be rebuilt and the fix continues where it was:
 *  - bundle: the agent's commits since base, as a git bundle
 *  - patch: `git diff --binary HEAD` (uncommitted changes to tracked files, deletions included)
 *  - untrackedTar: untracked, non-ignored files (ignored ones, e.g. node_modules, come back
 *    from the project's install step), but for big ones, left out file by file
 * A checkpoint is stored only if it rebuilds the workspace (big untracked files aside): when a
 * piece is over its cap, the previous checkpoint stays the latest (see saveCheckpoint).
 * Everything is read and restored inside the sandbox; the host never unpacks agent-made data.
 * The index is not kept (staged and unstaged changes come back unstaged): git_commit stages
 * everything anyway. Nor is the branch name: delivery pushes HEAD to the fix branch.
 */
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { WORKSPACE } from '../domain/agent/workspace-paths.js';
import { SANDBOX_LABELS } from './container.js';
import { asSandboxGone, execInSandbox } from './exec.js';
import type { ShellPool } from './shell-pool.js';

/** Past this, a piece is not stored (and a SafetyEvent says so): PostgreSQL rows are not a file store. */
export const MAX_CHECKPOINT_PIECE_BYTES = 32 * 1024 * 1024;
/** An untracked file bigger than this (data, a log, a build artifact) is left out on its own. */
export const MAX_CHECKPOINT_FILE_BYTES = 8 * 1024 * 1024;
const SHA = /^[0-9a-f]{40,64}$/;

export interface WorkspaceState {
  baseSha: string;
  headSha: string;
  bundle: Buffer | null;
  patch: Buffer | null;
  untrackedTar: Buffer | null;
  /** pieces left out because they were too big */
  skipped: string[];
  /** false when a piece the restore needs was too big: saveCheckpoint keeps the previous checkpoint */
  restorable: boolean;
}

/** The commit the sandbox was provisioned at (its label). */
async function sandboxBaseSha(docker: Docker, containerId: string): Promise<string> {
  const info = await docker
    .getContainer(containerId)
    .inspect()
    .catch((err: unknown) => {
      // Removed under us: the workflow recreates the sandbox from the last checkpoint.
      throw asSandboxGone(err, containerId);
    });
  const baseSha = info.Config.Labels?.[SANDBOX_LABELS.baseSha];
  if (!baseSha || !SHA.test(baseSha)) throw new Error(`sandbox ${containerId.slice(0, 12)} has no base commit label`);
  return baseSha;
}

export async function captureWorkspace(docker: Docker, shells: ShellPool, containerId: string): Promise<WorkspaceState> {
  const baseSha = await sandboxBaseSha(docker, containerId);
  const sh = async (argv: string[]) => {
    // Head and tail windows of half the cap each: exact bytes up to the cap, "cut" beyond it.
    const r = await shells.run(containerId, argv, { timeoutMs: 120_000, captureBytes: MAX_CHECKPOINT_PIECE_BYTES / 2 });
    if (r.exitCode !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} failed in the sandbox: ${r.stderr.text().slice(0, 500)}`);
    return r.stdout;
  };
  const skipped: string[] = [];
  let restorable = true;
  /** Exact bytes, or null (with a note) when the piece was cut at the cap: this state cannot be rebuilt. */
  const piece = (name: string, out: { bytes(): Buffer | undefined; total: number }) => {
    const bytes = out.bytes();
    if (!bytes) {
      restorable = false;
      skipped.push(`${name} (${out.total} bytes; without it this checkpoint could not be restored, so the previous one is kept)`);
    }
    return bytes && bytes.length ? bytes : null;
  };

  const headSha = (await sh(['git', 'rev-parse', 'HEAD'])).text().trim();
  const ahead = Number((await sh(['git', 'rev-list', '--count', `${baseSha}..HEAD`])).text().trim());
  // Stdout of the shell is byte-exact (the sentinel framing never touches the payload).
  const bundle = ahead > 0 ? piece('bundle', await sh(['git', 'bundle', 'create', '-q', '-', 'HEAD', `^${baseSha}`])) : null;
  const patch = piece('patch', await sh(['git', 'diff', '--binary', 'HEAD']));
  // Untracked files with their sizes (of a symlink: its own, tar keeps it as a link).
  const listing = piece('untracked file list', await sh(['sh', '-c', 'git ls-files -z --others --exclude-standard | xargs -0r stat --printf "%s %n\\0" --']));
  // A big file is left out on its own: dropping the whole tar for it lost every new source file.
  const excludes: string[] = [];
  let untracked = false;
  for (const entry of listing?.toString('utf8').split('\0') ?? []) {
    const at = entry.indexOf(' ');
    if (at < 0) continue;
    const size = Number(entry.slice(0, at));
    const name = entry.slice(at + 1);
    if (size <= MAX_CHECKPOINT_FILE_BYTES) untracked = true;
    else {
      excludes.push(`--exclude=${name}`);
      skipped.push(`untracked file ${name} (${size} bytes)`);
    }
  }
  // --no-wildcards --anchored: each exclude is that one path, whatever characters it holds.
  const tar = 'git ls-files -z --others --exclude-standard | tar -c --no-wildcards --anchored "$@" --null -T - -f -';
  const untrackedTar = untracked ? piece('untracked files', await sh(['sh', '-c', tar, 'sh', ...excludes])) : null;
  return { baseSha, headSha, bundle, patch, untrackedTar, skipped, restorable };
}

export async function saveCheckpoint(prisma: PrismaClient, workflowId: string, iteration: number, s: WorkspaceState): Promise<void> {
  if (!s.restorable) {
    // Never store a checkpoint that cannot rebuild its state: without the bundle its head is a
    // commit a fresh clone lacks, and every re-provision and every retried turn (which rewinds to
    // it) would fail for good. The previous checkpoint, a state the model saw a turn earlier,
    // stays the latest (a row an earlier attempt of this iteration stored goes too).
    await prisma.workspaceCheckpoint.deleteMany({ where: { workflowId, iteration } });
    return;
  }
  const data = {
    baseSha: s.baseSha,
    headSha: s.headSha,
    bundle: s.bundle ? new Uint8Array(s.bundle) : null,
    patch: s.patch ? new Uint8Array(s.patch) : null,
    untrackedTar: s.untrackedTar ? new Uint8Array(s.untrackedTar) : null,
  };
  await prisma.workspaceCheckpoint.upsert({
    where: { workflowId_iteration: { workflowId, iteration } },
    create: { workflowId, iteration, ...data },
    update: data,
  });
}

/**
 * The workspace to rebuild a sandbox at: the latest checkpoint whose turn's results were stored.
 * runTools saves a checkpoint just before it stores the results; one whose results never were (the
 * host was lost in between) holds a workspace the model never saw, and that turn runs again.
 */
export async function latestCheckpoint(prisma: PrismaClient, workflowId: string) {
  const answered = await prisma.agentTurn.findFirst({
    where: { workflowId, followUp: { not: Prisma.AnyNull } },
    orderBy: { iteration: 'desc' },
    select: { iteration: true },
  });
  if (!answered) return null;
  return prisma.workspaceCheckpoint.findFirst({ where: { workflowId, iteration: { lte: answered.iteration } }, orderBy: { iteration: 'desc' } });
}

export interface CheckpointBytes {
  headSha: string;
  bundle: Uint8Array | null;
  patch: Uint8Array | null;
  untrackedTar: Uint8Array | null;
}

/** Brings a fresh clone of the base to the checkpointed state, inside the sandbox. */
export async function restoreWorkspace(docker: Docker, containerId: string, cp: CheckpointBytes): Promise<void> {
  if (!SHA.test(cp.headSha)) throw ApplicationFailure.nonRetryable(`checkpoint has an invalid head ${JSON.stringify(cp.headSha)}`, 'BadCheckpoint');
  const must = async (argv: string[], stdin?: Uint8Array) => {
    const r = await execInSandbox(docker, containerId, argv, { stdin: stdin ? Buffer.from(stdin) : undefined, timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw new Error(`restoring the checkpoint: ${argv.slice(0, 3).join(' ')} failed: ${r.stderr.toString().slice(0, 1000)}`);
  };
  if (cp.bundle) {
    await must(['sh', '-c', 'cat > /tmp/restore.bundle'], cp.bundle);
    await must(['git', 'fetch', '-q', '/tmp/restore.bundle']);
    await must(['rm', '-f', '/tmp/restore.bundle']);
  }
  await must(['git', 'reset', '-q', '--hard', cp.headSha]);
  if (cp.patch) await must(['git', 'apply', '--binary', '--whitespace=nowarn'], cp.patch);
  if (cp.untrackedTar) await must(['tar', '-x', '-C', WORKSPACE, '-f', '-'], cp.untrackedTar);
}

/**
 * Puts the workspace of a running sandbox back to the state after iteration `before - 1` (its
 * checkpoint, or the base commit when there is none): what the model saw when it asked for turn
 * `before`. That turn's checkpoint may be missing (too big to store): then an earlier one.
 * Files git ignores (installed dependencies, build output) stay.
 */
export async function rewindWorkspace(docker: Docker, prisma: PrismaClient, containerId: string, workflowId: string, before: number): Promise<void> {
  const cp = await prisma.workspaceCheckpoint.findFirst({ where: { workflowId, iteration: { lt: before } }, orderBy: { iteration: 'desc' } });
  const baseSha = await sandboxBaseSha(docker, containerId);
  const r = await execInSandbox(docker, containerId, ['sh', '-c', 'git reset -q --hard "$1" && git clean -fdq', 'sh', baseSha], { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`rewinding the workspace failed: ${r.stderr.toString().slice(0, 1000)}`);
  if (cp) await restoreWorkspace(docker, containerId, cp);
}
