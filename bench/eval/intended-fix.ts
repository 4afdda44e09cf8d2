/**
 * A fixture's intended fix as data: exact, unique replacements. The scripted scenario sends these
 * very edits through edit_file, and the host-side fixture test applies them with the same rule the
 * tool uses (applyExactEdit), so the two cannot drift apart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyExactEdit } from '../../src/domain/agent/agent-tools.js';

export interface FileEdit {
  /** relative to the repository root */
  path: string;
  old_string: string;
  new_string: string;
}

export function changedFiles(edits: readonly FileEdit[]): string[] {
  return [...new Set(edits.map((e) => e.path))];
}

/**
 * The regression test a fix comes with, added before an existing line (`anchor`, unique) of a
 * test file: it fails on the base commit's code and passes with the fix, the reproduction test
 * the service verifies.
 */
export function testBefore(path: string, anchor: string, test: string, gap = '\n\n'): FileEdit {
  return { path, old_string: anchor, new_string: `${test}${gap}${anchor}` };
}

/** Applies the edits to a checkout on disk; throws like edit_file would fail. */
export function applyIntendedFix(dir: string, edits: readonly FileEdit[]): void {
  for (const edit of edits) {
    const file = path.join(dir, edit.path);
    const result = applyExactEdit(fs.readFileSync(file, 'utf8'), edit.old_string, edit.new_string);
    if (!result.ok) throw new Error(`${edit.path}: ${result.error}`);
    fs.writeFileSync(file, result.content);
  }
}

/** Lines the fix adds (not present in what it replaces): what `git diff` must show with a `+`. */
export function addedLines(edits: readonly FileEdit[]): string[] {
  return edits.flatMap((e) => {
    const old = new Set(e.old_string.split('\n'));
    return e.new_string.split('\n').filter((line) => line.trim() !== '' && !old.has(line));
  });
}
