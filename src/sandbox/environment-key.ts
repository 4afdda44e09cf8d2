/**
 * The key of a project's prepared environment image: a hash of everything the setup's result
 * depends on — the toolchain image, the spec (setup script, egress, variables), the names of the
 * setup's secrets (a rotated token needs no rebuild, a new one does), and the content of the lock
 * and manifest files at the commit. Same key → same image; any change → a new build.
 */
import { createHash } from 'node:crypto';
import { cacheKeyFilesOf, type EnvironmentSpec } from '../domain/environment/environment-spec.js';

/** Bump when the way the setup runs changes, so old images stop matching. */
const SETUP_FORMAT = 1;

/** JSON with sorted keys: the same spec hashes the same whatever order the admin wrote it in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

export async function environmentKey(
  spec: EnvironmentSpec,
  toolchainImage: string,
  secretNames: string[],
  readFile: (file: string) => Promise<Buffer | null>,
): Promise<{ key: string; files: Record<string, string | null> }> {
  const h = createHash('sha256');
  h.update(canonical({ SETUP_FORMAT, toolchainImage, spec, secrets: [...secretNames].sort() }));
  const files: Record<string, string | null> = {};
  for (const file of cacheKeyFilesOf(spec)) {
    const bytes = await readFile(file);
    files[file] = bytes ? createHash('sha256').update(bytes).digest('hex').slice(0, 16) : null;
    h.update(`\0${file}\0${bytes ? `${bytes.length}\0` : 'absent'}`);
    if (bytes) h.update(bytes);
  }
  return { key: h.digest('hex').slice(0, 24), files };
}
