/**
 * Toolchain images against the real Docker engine: a Node 20 + Go 1.22 image built FROM the sandbox
 * image (downloads ~120 MB into .data/toolchain-cache on a cold cache), every toolchain working for
 * the agent's uid with no network, the image reused on the next call, the base for a base-only spec.
 */
import Docker from 'dockerode';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ensureToolchainImage, TOOLCHAIN_LABEL, TOOLCHAIN_VERSIONS_LABEL } from '../../src/sandbox/toolchain-image.js';
import { toolchainErrors, type Toolchains } from '../../src/domain/environment/toolchains.js';

const docker = new Docker();
const BASE = loadConfig().SANDBOX_IMAGE;
const SPEC: Toolchains = { node: '20', go: '1.22.12', python: '3.11', java: '17' };
const SANDBOX_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let baseId: string;
beforeAll(async () => {
  baseId = (await docker.getImage(BASE).inspect()).Id;
});

/** Runs a bash script as the agent, the way the sandbox does: no network, read-only root, tmpfs /tmp. */
async function runInImage(image: string, script: string): Promise<{ code: number; out: string }> {
  const container = await docker.createContainer({
    Image: image,
    User: '1001:1001',
    Cmd: ['bash', '-c', script],
    Env: [SANDBOX_PATH, 'HOME=/tmp'],
    WorkingDir: '/tmp',
    Labels: { 'bugfix.scratch': 'toolchain' },
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,size=512m,uid=1001,gid=1001,mode=1777' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
    },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    // Demultiplex Docker's 8-byte-header frames (no TTY) into one text.
    let out = '';
    for (let i = 0; i + 8 <= raw.length;) {
      const len = raw.readUInt32BE(i + 4);
      out += raw.subarray(i + 8, i + 8 + len).toString();
      i += 8 + len;
    }
    // Maven 3.8 colours its banner even without a terminal (and with -B): strip ANSI escapes.
    return { code: StatusCode, out: out.replace(/\x1b\[[0-9;]*m/g, '') };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

describe('toolchain images', () => {
  test('a spec the base covers (Python, Java, Node 18, nothing) is the base image itself', async () => {
    for (const spec of [{}, { python: '3.11', java: '17' }, { node: '18', python: '3.11' }] satisfies Toolchains[]) {
      expect(await ensureToolchainImage(docker, BASE, spec)).toEqual({ tag: BASE, imageId: baseId });
    }
  });

  test('unsupported versions are refused before anything is fetched', async () => {
    await expect(ensureToolchainImage(docker, BASE, { node: '19' })).rejects.toThrow(/node: '19' is not supported/);
    await expect(ensureToolchainImage(docker, BASE, { go: '1.20.14' })).rejects.toThrow(/go: '1.20.14'/);
    await expect(ensureToolchainImage(docker, BASE, { python: '3.12', ruby: '3' } as Toolchains)).rejects.toThrow(/python.*unknown toolchain 'ruby'/);
    expect(toolchainErrors({ go: '1.21.0' })).toEqual([]);
    expect(toolchainErrors({ go: '1.23.4', node: '24', java: '17' })).toEqual([]);
    expect(toolchainErrors({ go: '1.22' })).toHaveLength(1);
  });

  test('Node 20 + Go 1.22: built once for concurrent callers, every toolchain works offline as the agent', { timeout: 900_000 }, async () => {
    const logs: string[] = [];
    const [a, b] = await Promise.all([
      ensureToolchainImage(docker, BASE, SPEC, (m) => logs.push(m)),
      ensureToolchainImage(docker, BASE, { go: '1.22.12', node: '20' }, (m) => logs.push(m)),
    ]);
    expect(b).toEqual(a);
    expect(a.tag).toMatch(/^bugfix-toolchain:[0-9a-f]{16}$/);
    // Zero builds when an earlier run left the image, never two.
    expect(logs.filter((l) => l.includes(': building ')).length).toBeLessThanOrEqual(1);

    const info = await docker.getImage(a.tag).inspect();
    expect(info.Id).toBe(a.imageId);
    expect(JSON.parse(info.Config.Labels[TOOLCHAIN_LABEL]!)).toEqual({ go: '1.22.12', node: '20' });
    expect(JSON.parse(info.Config.Labels[TOOLCHAIN_VERSIONS_LABEL]!)).toMatchObject({ go: '1.22.12', node: expect.stringMatching(/^20\./) });
    expect(info.Config.User).toBe('1001:1001');

    const { code, out } = await runInImage(
      a.tag,
      [
        'set -e',
        'id -u',
        'node --version',
        'command -v node',
        'npm --version',
        'npx --version',
        'go version',
        'python3 --version',
        'java -version 2>&1',
        'mvn -B -v 2>&1',
        '/usr/bin/node --version',
        // Go compiles (GOROOT found through the /usr/local/bin link, cache under HOME=/tmp) and Python makes a venv.
        'mkdir -p /tmp/hello && cd /tmp/hello && printf "package main\\nimport \\"fmt\\"\\nfunc main() { fmt.Println(\\"hello from go\\") }\\n" > main.go',
        'go mod init example.com/hello >/dev/null 2>&1 && GOTOOLCHAIN=local GOFLAGS=-mod=mod go run .',
        'node -e "console.log(\\"hello from \\" + process.version)"',
        'python3 -m venv /tmp/venv && /tmp/venv/bin/python -c "import sys; print(\\"venv\\", sys.prefix)"',
      ].join('\n'),
    );
    expect(out, out).toBeTruthy();
    expect(code, out).toBe(0);
    expect(out).toMatch(/^1001$/m);
    expect(out).toMatch(/^v20\.\d+\.\d+$/m);
    expect(out).toMatch(/^\/usr\/local\/bin\/node$/m);
    expect(out).toMatch(/^go version go1\.22\.12 linux\/amd64$/m);
    expect(out).toMatch(/^Python 3\.11\.\d+$/m);
    expect(out).toMatch(/^openjdk version "17\./m);
    expect(out).toMatch(/^Apache Maven 3\.8\.7/m);
    expect(out).toMatch(/^v18\.\d+\.\d+$/m); // Debian's node is still there, just not first on PATH
    expect(out).toMatch(/^hello from go$/m);
    expect(out).toMatch(/^hello from v20\./m);
    expect(out).toMatch(/^venv \/tmp\/venv$/m);

    // The next call finds the image: no download, no build.
    const again: string[] = [];
    const t0 = Date.now();
    expect(await ensureToolchainImage(docker, BASE, SPEC, (m) => again.push(m))).toEqual(a);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(again).toEqual([]);
  });
});
