/**
 * In the sandbox, by the service: the repository's instructions at the base commit, and whether
 * the fix's test files fail on the base commit's code. Paths and commits go to git and bash as
 * argv (bash reads them as "$@"), never into a command string; the only command string run is
 * the project's own test command, from its configuration.
 */
import type Docker from 'dockerode';
import { INSTRUCTION_FILES, INSTRUCTIONS_FILE_CAP, capInstructions, type InstructionsFile } from '../domain/agent/repository-instructions.js';
import { truncateMiddle } from '../domain/agent/truncate.js';
import { outputTail, splitTestFiles, type ReproductionEvidence } from '../domain/fix/reproduction.js';
import { execInSandbox } from './exec.js';
import { formatCommandResult } from './command-result.js';

async function gitOut(docker: Docker, containerId: string, args: string[]): Promise<string> {
  const r = await execInSandbox(docker, containerId, ['git', ...args], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`git ${args[0]} in sandbox failed: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

const nulList = (s: string) => s.split('\0').filter(Boolean);

/** The instruction files as committed at `baseSha` (not as the agent may have edited them), capped. */
export async function readInstructionFiles(docker: Docker, containerId: string, baseSha: string): Promise<InstructionsFile[]> {
  const found: { path: string; text: string }[] = [];
  for (const file of INSTRUCTION_FILES) {
    // One byte over the cap tells a truncated file from one exactly at it. A missing file prints nothing.
    const r = await execInSandbox(
      docker,
      containerId,
      ['bash', '-c', 'git cat-file blob "$1" 2>/dev/null | head -c "$2"', '_', `${baseSha}:${file}`, String(INSTRUCTIONS_FILE_CAP + 1)],
      {
        timeoutMs: 30_000,
      },
    );
    const text = r.stdout.toString('utf8');
    if (text.trim()) found.push({ path: file, text });
  }
  return capInstructions(found);
}

/** Where a run keeps the fix's own code while the base commit's stands in for it (outside the workspace). */
const SAVED = '/tmp/bugfix-reproduction';

/**
 * Puts the fix's code back if an earlier attempt died while the base commit's stood in for it,
 * then (with paths as arguments) saves the fix's versions of the given paths and swaps in the
 * base commit's: paths absent at the base are removed, the others restored from it.
 */
export const SWAP_TO_BASE = `set -e
# -m: restored files get a new mtime, so incremental builds (Maven, make) see them change again.
restore() { if [ -f ${SAVED}/paths ]; then xargs -0 -r rm -f -- < ${SAVED}/paths; tar -xmf ${SAVED}/fix.tar; fi; rm -rf ${SAVED}; }
restore
if [ "$1" = "--restore-only" ]; then exit 0; fi
base="$1"; shift
mkdir -p ${SAVED}
existing=()
for p in "$@"; do if [ -e "$p" ] || [ -L "$p" ]; then existing+=("$p"); fi; done
tar -cf ${SAVED}/fix.tar --files-from /dev/null -- "\${existing[@]}"
if [ $# -gt 0 ]; then printf '%s\\0' "$@" > ${SAVED}/paths; else : > ${SAVED}/paths; fi
atBase=()
while IFS= read -r -d '' p; do atBase+=("$p"); done < <(git --literal-pathspecs ls-tree -r -z --name-only "$base" -- "$@")
rm -f -- "$@"
if [ \${#atBase[@]} -gt 0 ]; then git --literal-pathspecs restore --source="$base" --worktree -- "\${atBase[@]}"; fi
`;

async function swap(docker: Docker, containerId: string, args: string[]): Promise<void> {
  const r = await execInSandbox(docker, containerId, ['bash', '-c', SWAP_TO_BASE, '_', ...args], { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`reproduction check could not swap the workspace: ${r.stderr.toString().trim().slice(-500)}`);
}

/**
 * The fix's test files on the base commit's code: every other path the fix changed goes back to
 * its base version (or away, when the fix added it) for one run of the test command, then the
 * fix's code comes back. Untracked files the fix made count as changed; ignored ones (installed
 * dependencies, build output) stay as they are, so the run has what the fix's own run had.
 */
export async function runFixTestsOnBase(
  docker: Docker,
  containerId: string,
  baseSha: string,
  testCommand: string,
  timeoutMs: number,
): Promise<Omit<ReproductionEvidence, 'passingOutput' | 'baseAlreadyFailing'>> {
  await swap(docker, containerId, ['--restore-only']); // a crashed earlier attempt left the base's code in place
  const changed = [
    ...nulList(await gitOut(docker, containerId, ['-c', 'core.quotepath=off', 'diff', '--name-only', '-z', '--no-renames', baseSha])),
    ...nulList(await gitOut(docker, containerId, ['ls-files', '-z', '--others', '--exclude-standard'])),
  ];
  const { tests, code } = splitTestFiles([...new Set(changed)]);
  const present = await existing(docker, containerId, tests);
  if (present.length === 0) return { status: 'no-test-changes', testFiles: [] };
  await swap(docker, containerId, [baseSha, ...code]);
  try {
    const r = await execInSandbox(docker, containerId, ['bash', '-c', `exec </dev/null\n${testCommand}`], { timeoutMs });
    const output = outputTail(truncateMiddle(formatCommandResult({ ...r, ...r.captured }, timeoutMs), 8_000));
    return { status: r.exitCode === 0 ? 'passes-on-base' : 'verified', testFiles: present, baseRun: { exitCode: r.exitCode, output } };
  } finally {
    await swap(docker, containerId, ['--restore-only']);
  }
}

/** The paths that exist in the workspace now (a test file the fix deleted is no reproduction). */
async function existing(docker: Docker, containerId: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const r = await execInSandbox(docker, containerId, ['bash', '-c', 'for p in "$@"; do [ -f "$p" ] && printf "%s\\0" "$p"; done; true', '_', ...paths], {
    timeoutMs: 30_000,
  });
  return nulList(r.stdout.toString());
}
