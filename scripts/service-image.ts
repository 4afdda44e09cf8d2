/**
 * `npm run image:service`: builds the service's production image (docker/service.Dockerfile)
 * offline, FROM the local base image the sandbox uses, and only when its inputs changed: the image
 * carries the hash of every input as a label, and an image with the same hash is kept as it is.
 * The context holds this Node binary, the product compiled by tsc (tsconfig.service.json), the
 * Prisma schema and migrations, and the production dependencies as npm resolves them (hard
 * links: no copy). Prints the image tag; `--tag` prints it without building.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { PROJECT_ROOT } from '../src/config.js';
import { buildImageFromDir } from '../src/sandbox/docker-build.js';
import { baseTag, DOCKER_DIR, sha } from './sandbox-base.js';

export const SERVICE_IMAGE = process.env.SERVICE_IMAGE ?? 'bugfix-service:latest';
const INPUTS_LABEL = 'bugfix.inputs';
/** What the image is made of, besides node_modules (whose versions package-lock.json fixes). */
const SOURCE_DIRS = ['src', 'workflows', 'activities', 'prisma'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.service.json', 'temporal.config.ts', 'prisma.config.ts'];
const DOCKER_FILES = ['service.Dockerfile', 'service-entry.sh', 'service-check.mjs', 'seccomp-sandbox.json', 'sandbox-hosts'];
/** Native builds of @temporalio/core-bridge for other platforms: 100+ MB a Linux x64 image never loads. */
const CORE_BRIDGE_OTHERS = ['aarch64-apple-darwin', 'x86_64-apple-darwin', 'x86_64-pc-windows-msvc', 'aarch64-unknown-linux-gnu', 'x86_64-unknown-linux-gnu'];
const CORE_BRIDGE_OWN: Record<string, string> = { x64: 'x86_64-unknown-linux-gnu', arm64: 'aarch64-unknown-linux-gnu' };

const say = (msg: string) => console.error(`[service-image] ${msg}`);

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(PROJECT_ROOT, path.join(e.parentPath, e.name)));
}

/** The hash of everything the image is built from, Node's version and the base image included. */
export function serviceInputs(): string {
  const files = [...SOURCE_DIRS.flatMap(filesUnder), ...SOURCE_FILES, ...DOCKER_FILES.map((f) => path.join('docker', f))].sort();
  const parts = files.map((f) => `${f}\n${sha(fs.readFileSync(path.join(PROJECT_ROOT, f), 'latin1'))}`);
  return sha([baseTag, process.version, process.arch, ...parts].join('\n'));
}

/** The production dependency folders npm resolved (node_modules/…), without nested repeats. */
function productionPackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  const dirs = [...new Set(out.split('\n').filter(Boolean))].map((d) => path.relative(PROJECT_ROOT, d)).filter((d) => d.startsWith('node_modules'));
  // A package inside another one's node_modules travels with its parent folder.
  return dirs.filter((d) => !dirs.some((p) => p !== d && d.startsWith(`${p}/`)));
}

function prepareContext(ctx: string): void {
  const app = path.join(ctx, 'app');
  say('compiling the product (tsc -p tsconfig.service.json)');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.service.json', '--outDir', app], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(PROJECT_ROOT, f), path.join(app, f));
  fs.cpSync(path.join(PROJECT_ROOT, 'prisma'), path.join(app, 'prisma'), { recursive: true });
  fs.mkdirSync(path.join(app, 'docker'));
  for (const f of ['seccomp-sandbox.json', 'sandbox-hosts', 'service-check.mjs']) fs.copyFileSync(path.join(DOCKER_DIR, f), path.join(app, 'docker', f));
  fs.copyFileSync(path.join(DOCKER_DIR, 'service.Dockerfile'), path.join(ctx, 'Dockerfile'));
  fs.copyFileSync(path.join(DOCKER_DIR, 'service-entry.sh'), path.join(ctx, 'service-entry.sh'));
  fs.copyFileSync(process.execPath, path.join(ctx, 'node'));

  const packages = productionPackages();
  say(`production dependencies: ${packages.length} packages (hard links)`);
  for (const dir of packages) {
    const to = path.join(app, dir);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    execFileSync('cp', ['-al', path.join(PROJECT_ROOT, dir), to]);
  }
  const releases = path.join(app, 'node_modules', '@temporalio', 'core-bridge', 'releases');
  for (const other of CORE_BRIDGE_OTHERS.filter((r) => r !== CORE_BRIDGE_OWN[process.arch]))
    fs.rmSync(path.join(releases, other), { recursive: true, force: true });
  fs.rmSync(path.join(app, 'node_modules', '@temporalio', 'core-bridge', 'sdk-core'), { recursive: true, force: true });
}

async function existingImage(docker: Docker, tag: string): Promise<{ id: string; inputs?: string } | undefined> {
  try {
    const info = await docker.getImage(tag).inspect();
    return { id: info.Id, inputs: info.Config?.Labels?.[INPUTS_LABEL] };
  } catch {
    return undefined;
  }
}

/** Builds the image unless one with the same inputs exists; returns its tag. */
export async function buildServiceImage(docker = new Docker(), tag = SERVICE_IMAGE): Promise<string> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 22 && major !== 24) throw new Error(`Node ${process.version} is not a supported LTS for the image (22 or 24): run through scripts/node-env.sh`);
  const inputs = serviceInputs();
  const previous = await existingImage(docker, tag);
  if (previous?.inputs === inputs) {
    say(`${tag} up to date (inputs ${inputs})`);
    return tag;
  }
  if (
    !(await docker
      .getImage(baseTag)
      .inspect()
      .catch(() => null))
  )
    throw new Error(`base image ${baseTag} is missing: build it with \`bash scripts/bootstrap.sh\` (sandbox image step)`);
  // Under .data (ignored by git, same filesystem as node_modules): hard links instead of copies.
  const ctx = path.join(PROJECT_ROOT, '.data', `service-image-${process.pid}`);
  fs.rmSync(ctx, { recursive: true, force: true });
  fs.mkdirSync(ctx, { recursive: true });
  try {
    prepareContext(ctx);
    say(`building ${tag} FROM ${baseTag}`);
    await buildImageFromDir(docker, ctx, tag, { buildargs: { BASE: baseTag }, labels: { [INPUTS_LABEL]: inputs } });
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  // The image it replaces is untagged now: remove it (kept while a container still uses it).
  if (previous && previous.id !== (await existingImage(docker, tag))?.id)
    await docker
      .getImage(previous.id)
      .remove()
      .catch(() => undefined);
  say(`${tag} built (inputs ${inputs})`);
  return tag;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--tag')) console.log(SERVICE_IMAGE);
  else
    buildServiceImage()
      .then((tag) => console.log(tag))
      .catch((err: unknown) => {
        console.error(`[service-image] FAILED: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      });
}
