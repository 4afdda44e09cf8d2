/**
 * Names derived from a report. Validated by whitelist before they reach git, Docker or Temporal.
 */
const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const PROJECT_KEY = /^[a-z0-9][a-z0-9-]{0,39}$/;
const BRANCH_NAME = /^fix\/[a-z0-9][a-z0-9._-]{0,60}$/;

/** FNV-1a, 64-bit, hex: a short stable digest usable in workflow code (no node:crypto there). */
export function stableHash(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const ch of new TextEncoder().encode(text)) {
    h ^= BigInt(ch);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * `bugfix-<key>.<project>.<external id>`: duplicate reports (same project, same external id)
 * collapse onto one workflow id.
 * - The '.' after the key is a character no project key has, so the first '.' always ends it:
 *   with '-', project `shop` + `api-1` and project `shop-api` + `1` were the same id.
 * - `<project>` is 8 hex characters of the project's own id: a project deleted and created again
 *   under the same key does not meet its predecessor's workflows (Temporal refuses to reuse a
 *   closed workflow's id within retention, and stored turns and checkpoints are keyed by it).
 * (Temporal ids, container names and host directory names all accept '.'.)
 */
export function fixWorkflowId(project: { key: string; id: string }, externalId: string): string {
  if (!PROJECT_KEY.test(project.key)) throw new Error(`invalid project key: ${project.key}`);
  const part = SAFE_ID.test(externalId) ? externalId : stableHash(externalId);
  const incarnation = project.id
    .replace(/[^0-9a-f]/gi, '')
    .slice(0, 8)
    .toLowerCase();
  return `bugfix-${project.key}.${incarnation}.${part}`;
}

export function fixBranchName(bugId: string): string {
  const short = bugId
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 8);
  return assertBranchName(`fix/bug-${short}`);
}

export function assertBranchName(name: string): string {
  if (!BRANCH_NAME.test(name) || name.includes('..') || name.endsWith('.lock')) {
    throw new Error(`refusing branch name ${JSON.stringify(name)}: must match ${BRANCH_NAME}`);
  }
  return name;
}

/** Docker container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
export function sandboxContainerName(workflowId: string): string {
  const clean = workflowId.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return `bugfix-sbx-${clean.slice(0, 80)}-${stableHash(workflowId).slice(0, 8)}`;
}
