/**
 * Builds the sandbox image offline, only when its inputs change:
 *  1. base image `bugfix-sandbox-base:<hash of docker/base-packages.txt>` from debootstrap + docker import;
 *  2. the sandbox image from docker/Dockerfile FROM that base, labelled with the hash of its inputs.
 * `--base-tag` prints the base tag (the bootstrap uses it to decide whether debootstrap is needed).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { loadConfig } from '../src/config.js';
import { buildImageFromDir } from '../src/sandbox/docker-build.js';
import { basePackages, baseTag, DOCKER_DIR, isServiceImageFile, sha, SUITE } from './sandbox-base.js';

const INPUTS_LABEL = 'bugfix.inputs';
const MIRROR = process.env.SANDBOX_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

const say = (msg: string) => console.log(`[bootstrap] ${msg}`);

async function imageLabels(docker: Docker, tag: string): Promise<Record<string, string> | null> {
  try {
    const info = await docker.getImage(tag).inspect();
    return info.Config?.Labels ?? {};
  } catch {
    return null;
  }
}

function buildBase(): void {
  if (process.getuid?.() !== 0) throw new Error(`base image ${baseTag} is missing and building it needs root (debootstrap)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-rootfs-'));
  try {
    say(`sandbox base: debootstrap ${SUITE} (${basePackages().join(', ')}) — about a minute`);
    const boot = spawnSync('debootstrap', ['--variant=minbase', `--include=${basePackages().join(',')}`, SUITE, dir, MIRROR], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (boot.status !== 0) throw new Error(`debootstrap failed (exit ${boot.status}); mirror ${MIRROR}`);
    // Trim what a sandbox never needs: apt lists and caches, docs.
    for (const p of ['var/lib/apt/lists', 'var/cache/apt', 'usr/share/doc', 'usr/share/man']) {
      fs.rmSync(path.join(dir, p), { recursive: true, force: true });
    }
    say(`sandbox base: docker import ${baseTag}`);
    execFileSync('bash', ['-c', 'tar -C "$1" -c . | docker import - "$2" >/dev/null', '_', dir, baseTag], {
      stdio: 'inherit',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The build context: docker/ plus npm's registry tarball at the pinned version. */
function prepareContext(): string {
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-sandbox-ctx-'));
  fs.cpSync(DOCKER_DIR, ctx, { recursive: true });
  const version = fs.readFileSync(path.join(DOCKER_DIR, 'npm-version'), 'utf8').trim();
  say(`sandbox image: fetching npm@${version} from the npm registry`);
  const name = execFileSync('npm', ['pack', `npm@${version}`, '--silent', '--pack-destination', ctx], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!;
  fs.renameSync(path.join(ctx, name), path.join(ctx, 'npm.tgz'));
  return ctx;
}

async function buildSandbox(docker: Docker, tag: string, inputs: string): Promise<void> {
  say(`sandbox image: building ${tag} FROM ${baseTag}`);
  const ctx = prepareContext();
  try {
    await buildImageFromDir(docker, ctx, tag, { buildargs: { BASE: baseTag }, labels: { [INPUTS_LABEL]: inputs } });
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--base-tag')) {
    console.log(baseTag);
    return;
  }
  const docker = new Docker();
  const tag = loadConfig().SANDBOX_IMAGE;
  const dockerInputs = fs
    .readdirSync(DOCKER_DIR)
    // Applied when a container is created, not built in: a new profile must not rebuild every image.
    .filter((f) => f !== 'seccomp-sandbox.json' && !isServiceImageFile(f))
    .sort()
    .map((f) => `${f}\n${fs.readFileSync(path.join(DOCKER_DIR, f), 'utf8')}`)
    .join('\n');
  const inputs = sha(`${baseTag}\n${dockerInputs}`);
  if ((await imageLabels(docker, tag))?.[INPUTS_LABEL] === inputs) {
    say(`sandbox image: ${tag} up to date`);
    return;
  }
  if (!(await imageLabels(docker, baseTag))) buildBase();
  await buildSandbox(docker, tag, inputs);
  say(`sandbox image: ${tag} built`);
}

main().catch((err: unknown) => {
  console.error(`[bootstrap] FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
