/**
 * Confines tool paths to the sandbox workspace. This is the first line; the sandbox also
 * resolves symlinks with realpath before touching a file (see activities/tools.ts).
 */
export const WORKSPACE = '/workspace';

export class PathOutsideWorkspaceError extends Error {
  override name = 'PathOutsideWorkspaceError';
}

/** Returns the absolute in-container path for a repository-relative path. */
export function resolveWorkspacePath(relative: string | undefined): string {
  const input = (relative ?? '.').trim() || '.';
  if (input.includes('\0')) throw new PathOutsideWorkspaceError('path contains a NUL byte');
  if (input.startsWith('/')) {
    throw new PathOutsideWorkspaceError(`absolute paths are not allowed (${input}); use a path relative to the repository root`);
  }
  const parts: string[] = [];
  for (const seg of input.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) throw new PathOutsideWorkspaceError(`path escapes the repository: ${input}`);
      parts.pop();
    } else parts.push(seg);
  }
  return parts.length ? `${WORKSPACE}/${parts.join('/')}` : WORKSPACE;
}

export function isInsideWorkspace(absolute: string): boolean {
  return absolute === WORKSPACE || absolute.startsWith(`${WORKSPACE}/`);
}
