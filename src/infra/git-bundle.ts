/**
 * Reads a git bundle the sandbox made into a host repository, every object checked by fsck.
 * `git fetch <bundle>` would be shorter, but before git 2.46 it ignores transfer.fsckObjects for
 * bundles: a crafted tree (a `.git` entry, `..` names, a `.gitmodules` symlink) would be taken as
 * is. So the pack after the bundle's header goes through `git index-pack --strict` ourselves.
 */
import { git, GitError } from './git.js';

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The bundle's header (v2 or v3): prerequisite and ref lines up to an empty line, then the pack. */
export function parseBundle(bundle: Buffer): { refs: Map<string, string>; prerequisites: string[]; pack: Buffer } {
  const end = bundle.indexOf('\n\n');
  const firstLine = bundle.subarray(0, bundle.indexOf('\n')).toString('utf8');
  if (end < 0 || !/^# v[23] git bundle$/.test(firstLine)) throw new GitError('not a git bundle (v2 or v3)');
  const refs = new Map<string, string>();
  const prerequisites: string[] = [];
  for (const line of bundle.subarray(0, end).toString('utf8').split('\n').slice(1)) {
    if (line.startsWith('@')) continue; // v3 capability
    const prerequisite = line.startsWith('-');
    const [sha, name] = (prerequisite ? line.slice(1) : line).split(' ');
    if (!sha || !SHA.test(sha)) throw new GitError(`bad bundle header line ${JSON.stringify(line.slice(0, 100))}`);
    if (prerequisite) prerequisites.push(sha);
    else if (name) refs.set(name, sha);
  }
  return { refs, prerequisites, pack: bundle.subarray(end + 2) };
}

/** Stores the bundle's objects in the repository at `dir` (fsck'd) and returns the sha `ref` names. */
export async function unbundleChecked(dir: string, bundle: Buffer, ref = 'HEAD'): Promise<string> {
  const { refs, pack } = parseBundle(bundle);
  const sha = refs.get(ref);
  if (!sha) throw new GitError(`the bundle has no ${ref}`);
  // --fix-thin: the pack's deltas may refer to the prerequisite (base) objects this repository has.
  await git(['index-pack', '--stdin', '--fix-thin', '--strict'], { cwd: dir, input: pack });
  await git(['cat-file', '-e', `${sha}^{commit}`], { cwd: dir });
  return sha;
}
