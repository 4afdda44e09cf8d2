/**
 * The scope gate on the final diff, before anything is pushed: forbidden paths, how many files and
 * how many lines changed. A hard stop, not advice. Defaults from the original design: 50 files,
 * 5,000 lines.
 */
import { DEFAULT_MAX_FILE_BYTES, scopeViolations, type ScopeLimits } from '../agent/scope.js';

export const DEFAULT_MAX_FILES_CHANGED = 50;
export const DEFAULT_MAX_LINES_CHANGED = 5000;

export interface DiffStat {
  path: string;
  /** a rename's or copy's source: the content of a forbidden file can leave under a new name */
  fromPath?: string;
  added: number;
  deleted: number;
}

/** Parses `git diff --numstat -z` output (binary files count as 0 lines). */
export function parseNumstatZ(out: string): DiffStat[] {
  const stats: DiffStat[] = [];
  const fields = out.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const rec = fields[i]!;
    if (!rec) continue;
    const [added, deleted, path] = rec.split('\t');
    if (path === '') {
      // rename or copy: the old and the new path follow as separate fields
      const fromPath = fields[i + 1] ?? '';
      i += 2;
      stats.push({ path: fields[i] ?? '', fromPath, added: Number(added) || 0, deleted: Number(deleted) || 0 });
    } else stats.push({ path: path ?? '', added: Number(added) || 0, deleted: Number(deleted) || 0 });
  }
  return stats;
}

/** Every limit the diff breaks, as readable reasons (empty when it may be pushed). */
export function diffGateViolations(stats: DiffStat[], limits: ScopeLimits = {}): string[] {
  const reasons: string[] = [];
  // Both ends of a rename count: `git mv config/prod.pem docs/x.txt` changes a forbidden path.
  const forbidden = scopeViolations(
    stats.flatMap((s) => (s.fromPath === undefined ? [s.path] : [s.fromPath, s.path])),
    limits,
  );
  if (forbidden.length) reasons.push(`changes forbidden paths: ${forbidden.join(', ')}`);
  const maxFiles = limits.maxFilesChanged ?? DEFAULT_MAX_FILES_CHANGED;
  if (stats.length > maxFiles) reasons.push(`changes ${stats.length} files; at most ${maxFiles} are allowed`);
  const lines = stats.reduce((sum, s) => sum + s.added + s.deleted, 0);
  const maxLines = limits.maxLinesChanged ?? DEFAULT_MAX_LINES_CHANGED;
  if (lines > maxLines) reasons.push(`changes ${lines} lines; at most ${maxLines} are allowed`);
  return reasons;
}

/** One entry of `git diff-tree -r -z --no-renames` (raw format): what a tree entry became. */
export interface TreeChange {
  path: string;
  oldMode: string;
  newMode: string;
  newSha: string;
  /** A added, D deleted, M modified, T type changed */
  status: string;
}

const SYMLINK_MODE = '120000';
const GITLINK_MODE = '160000';

/** Parses `git diff-tree -r -z --no-renames <a> <b>`: ":old new oldsha newsha S\0path\0" per entry. */
export function parseRawDiffZ(out: string): TreeChange[] {
  const fields = out.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i]!;
    if (!meta.startsWith(':')) continue;
    const [oldMode, newMode, , newSha, status] = meta.slice(1).split(' ');
    changes.push({ path: fields[i + 1]!, oldMode: oldMode!, newMode: newMode!, newSha: newSha!, status: status!.charAt(0) });
  }
  return changes;
}

/** What the host read of the new objects: blob sizes by sha, symlink targets by path. */
export interface TreeFacts {
  blobBytes: Map<string, number>;
  symlinkTargets: Map<string, string>;
}

/** Does a symlink at `linkPath` pointing at `target` resolve inside the repository? */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target.startsWith('/') || target.includes('\0')) return false;
  const parts = linkPath.split('/').slice(0, -1);
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return false;
      parts.pop();
    } else parts.push(seg);
  }
  // A link to .git (or into it) reaches the repository's own configuration and hooks.
  return parts.length > 0 && parts[0]!.toLowerCase() !== '.git';
}

/**
 * What the line count cannot see: a binary file counts as 0 lines, so every new blob has a byte
 * cap; a symlink may point out of the checkout (a reviewer's or CI's machine follows it); a
 * submodule added or moved to another commit pulls in code nobody reviewed. Deleting one is fine.
 */
export function treeChangeViolations(changes: TreeChange[], facts: TreeFacts, limits: ScopeLimits = {}): string[] {
  const reasons: string[] = [];
  const maxBytes = limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  for (const c of changes) {
    if (c.status === 'D') continue;
    if (c.newMode === GITLINK_MODE) {
      reasons.push(`adds or moves the submodule ${c.path}`);
      continue;
    }
    const bytes = facts.blobBytes.get(c.newSha);
    if (bytes !== undefined && bytes > maxBytes) reasons.push(`${c.path} is ${bytes} bytes; files may be at most ${maxBytes} bytes`);
    if (c.newMode === SYMLINK_MODE) {
      const target = facts.symlinkTargets.get(c.path) ?? '';
      if (!symlinkStaysInside(c.path, target)) reasons.push(`${c.path} is a symlink out of the repository (to ${JSON.stringify(target.slice(0, 200))})`);
    }
  }
  return reasons;
}
