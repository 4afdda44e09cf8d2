/**
 * The scope gate before anything is pushed: the diff's size and paths, and what the new tree holds
 * (blob sizes, symlinks, submodules), judged on the host's own copy. A refusal is a critical
 * safety event and ends the fix.
 */
import { ApplicationFailure } from '@temporalio/common';
import { storableText, withoutNul } from '../db/jsonb.js';
import { diffGateViolations, parseNumstatZ, parseRawDiffZ, treeChangeViolations, type TreeChange, type TreeFacts } from '../domain/fix/diff-gate.js';
import { git } from '../infra/git.js';
import type { DeliverDeps, DeliverInput } from './deliver-input.js';

/** Judged on the host, on exactly the tree that is pushed: the sandbox's own account is not trusted. */
export async function scopeGate(deps: Pick<DeliverDeps, 'prisma'>, input: DeliverInput, dir: string, tree: string): Promise<void> {
  const numstat = await git(['diff', '--numstat', '-z', input.baseSha, tree], { cwd: dir });
  const changes = parseRawDiffZ(await git(['diff-tree', '-r', '-z', '--no-renames', input.baseSha, tree], { cwd: dir }));
  const violations = [
    ...diffGateViolations(parseNumstatZ(numstat), input.scopeLimits),
    ...treeChangeViolations(changes, await treeFacts(dir, changes), input.scopeLimits),
  ];
  if (violations.length === 0) return;
  const message = `scope gate refused the fix before push: ${violations.join('; ')}`;
  await deps.prisma.safetyEvent.create({
    data: {
      kind: 'scope_violation',
      severity: 'critical',
      message: storableText(message), // paths the agent wrote
      workflowId: input.workflowId,
      bugId: input.bugId,
      projectId: input.projectId,
      details: { violations: withoutNul(violations) },
    },
  });
  throw ApplicationFailure.nonRetryable(message, 'ScopeViolation');
}

/** Sizes of the new blobs and targets of the new symlinks, read by the host from its own copy. */
async function treeFacts(dir: string, changes: TreeChange[]): Promise<TreeFacts> {
  const blobs = changes.filter((c) => c.status !== 'D' && c.newMode !== '160000');
  const blobBytes = new Map<string, number>();
  if (blobs.length) {
    const out = await git(['cat-file', '--batch-check=%(objectname) %(objectsize)'], {
      cwd: dir,
      input: Buffer.from(blobs.map((c) => `${c.newSha}\n`).join('')),
    });
    for (const line of out.split('\n')) {
      const [sha, size] = line.split(' ');
      if (sha && size) blobBytes.set(sha, Number(size));
    }
  }
  const symlinkTargets = new Map<string, string>();
  for (const c of blobs.filter((b) => b.newMode === '120000')) {
    symlinkTargets.set(c.path, await git(['cat-file', 'blob', c.newSha], { cwd: dir }));
  }
  return { blobBytes, symlinkTargets };
}
