/**
 * The scope gate on the final diff, before anything is pushed: forbidden paths, how many files and
 * how many lines changed. A hard stop, not advice. Defaults from the original design: 50 files,
 * 5,000 lines.
 */
import { scopeViolations, type ScopeLimits } from '../agent/scope.js';

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
