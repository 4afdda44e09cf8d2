/**
 * Hostile inputs against a real sandbox with small limits (256 MB, 64 PIDs): each one gives the
 * model a clear tool result and leaves the sandbox usable, and the limits hold by behaviour.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { cloneOnHost, createSandboxContainer, DEFAULT_SANDBOX_LIMITS, streamRepoIntoSandbox } from '../../src/sandbox/container.js';
import { execInSandbox } from '../../src/sandbox/exec.js';
import { ShellPool } from '../../src/sandbox/shell-pool.js';
import { ToolExecutor } from '../../src/sandbox/tool-executor.js';
import type { ToolRefusal, ToolOutcome } from '../../src/sandbox/tool-call.js';
import { loadConfig } from '../../src/config.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';

const docker = new Docker();
const shells = new ShellPool(docker);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-hostile-'));
const events: ToolRefusal[] = [];
let containerId: string;
let tools: ToolExecutor;
let n = 0;
const call = (name: string, input: Record<string, unknown> = {}): Promise<ToolOutcome> => tools.run({ id: `h${n++}`, name, input });
const run = (command: string, timeout_seconds?: number) => call('run_command', { command, ...(timeout_seconds ? { timeout_seconds } : {}) });
const raw = async (cmd: string) => (await execInSandbox(docker, containerId, ['bash', '-c', cmd])).stdout;

beforeAll(async () => {
  const bare = createBareRemote('pagination', path.join(tmp, 'remote.git'));
  const req = {
    workflowId: `hostile-test-${Date.now()}`,
    bugId: '00000000-0000-0000-0000-000000000000',
    projectKey: 'hostile',
    cloneUrl: bare,
    defaultBranch: 'main',
  };
  const { dir } = await cloneOnHost(path.join(tmp, 'work'), req);
  const limits = { ...DEFAULT_SANDBOX_LIMITS, memoryBytes: 256 * 1024 ** 2, pidsLimit: 64 };
  containerId = (await createSandboxContainer(docker, loadConfig().SANDBOX_IMAGE, req, 'test-host', limits)).id;
  await streamRepoIntoSandbox(docker, containerId, dir);
  tools = new ToolExecutor(docker, containerId, {
    shells,
    scope: { forbiddenPaths: ['generated/**'], maxFileBytes: 4096 },
    onSafetyEvent: async (e) => void events.push(e),
  });
});

afterAll(async () => {
  shells.closeAll();
  await docker
    .getContainer(containerId)
    .remove({ force: true })
    .catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Every hostile input must leave a sandbox that still works through the same executor.
afterEach(async () => {
  expect((await run('echo still-usable')).content).toMatch(/^Exit code: 0\n--- stdout ---\nstill-usable\n/);
});

describe('hostile paths', () => {
  test('escapes, absolute paths and symlinks out are refused', async () => {
    await raw('ln -sfn /etc /workspace/out-link');
    for (const p of ['../../etc/passwd', '/etc/shadow', 'out-link/passwd', 'src/../../etc/passwd']) {
      const r = await call('read_file', { path: p });
      expect(r.isError, p).toBe(true);
      expect(r.content, p).toMatch(/escapes the repository|absolute paths are not allowed|outside the repository/);
      expect(r.content).not.toContain('root:');
    }
    for (const p of ['../evil', '/tmp/evil', 'out-link/evil']) {
      expect(await call('write_file', { path: p, content: 'x' }), p).toMatchObject({ isError: true });
    }
    expect((await raw('ls /tmp/evil /etc/evil 2>&1 || true')).toString()).not.toMatch(/^\/(tmp|etc)\/evil$/m);
  });

  test('content with NUL bytes, quotes and a heredoc marker round-trips byte-exact', async () => {
    const nasty = "nul:\u0000:end 'single' \"double\" $(id) `id` \\\n<<'EOF'\nEOF\n\u0000\u0000tail é ✓\nno newline at end";
    expect(await call('write_file', { path: 'data/nasty.bin', content: nasty })).toMatchObject({ isError: false });
    const back = await raw('cat /workspace/data/nasty.bin');
    expect(back.equals(Buffer.from(nasty, 'utf8'))).toBe(true);
    expect(await call('edit_file', { path: 'data/nasty.bin', old_string: "<<'EOF'\nEOF", new_string: 'EOF\n\'"' })).toMatchObject({ isError: false });
    expect((await raw('cat /workspace/data/nasty.bin')).equals(Buffer.from(nasty.replace("<<'EOF'\nEOF", 'EOF\n\'"'), 'utf8'))).toBe(true);
  });
});

describe('hostile commands', () => {
  test('50 MB of output is cut in the middle, says how much, and keeps both ends', async () => {
    const r = await run('echo FIRST; head -c 52428800 /dev/zero | tr "\\0" a; echo; echo LAST');
    expect(r.isError).toBe(false);
    expect(r.content.length).toBeLessThan(25_000);
    expect(r.content).toMatch(/^Exit code: 0\n--- stdout ---\nFIRST\n/);
    expect(r.content).toMatch(/\[\.\.\. \d{8} bytes cut \.\.\.\]/);
    expect(r.content).toMatch(/\nLAST\n[\s\S]*--- stderr ---/);
  });

  test('binary output is described, not dumped', async () => {
    const r = await run("printf 'a\\0b'; head -c 2048 /dev/urandom");
    expect(r.content).toMatch(/--- stdout ---\n\[binary output: 2051 bytes, not shown/);
  });

  test('a command hanging past its timeout is killed with its whole process group', async () => {
    const r = await run('sleep 1111 & sleep 2222 & while :; do :; done', 1);
    expect(r.content).toMatch(/^Timed out after 1 s and was killed\./);
    expect((await run('ps -eo args')).content).not.toMatch(/sleep (1111|2222)/);
  });

  test('processes that left the command’s process group (setsid, double fork, nohup) die with it; the shell stays', async () => {
    const shellPid = async () => (await raw('pgrep -f "^bash --noprofile --norc -c LC_ALL=C"')).toString().trim();
    await run('true');
    const before = await shellPid();
    const escapes = "setsid sleep 3331 & (setsid sh -c 'sleep 3332 & exec sleep 3333' &) ; nohup sleep 3334 >/dev/null 2>&1 & disown";
    // Killed at its timeout...
    expect((await run(`${escapes}; sleep 1; while :; do :; done`, 2)).content).toMatch(/^Timed out after 2 s and was killed\./);
    expect((await raw('ps -eo args')).toString()).not.toMatch(/sleep 333\d/);
    // ...or ended by itself: nothing it started outlives it either.
    expect((await run(`${escapes}; sleep 0.3; ps -eo args | grep -c "^sleep 333"`)).content).toMatch(/--- stdout ---\n4\n/);
    expect((await raw('ps -eo args')).toString()).not.toMatch(/sleep 333\d/);
    expect(await shellPid()).toBe(before);
  });

  test('a NUL byte in a command is refused readably and the shell stays in step', async () => {
    // bash's `read` drops NUL bytes: sent, the length prefix would be off by one and hang the shell.
    for (const r of [await run('echo a\u0000b', 2), await call('search_code', { pattern: 'x\u0000y' })]) {
      expect(r).toMatchObject({ isError: true, content: expect.stringMatching(/^The input contains a NUL byte/) });
    }
    expect((await run('echo next')).content).toMatch(/^Exit code: 0\n--- stdout ---\nnext\n/);
  });

  test('exit 1 is just an exit code; the shell is still there', async () => {
    expect((await run('exit 1')).content).toMatch(/^Exit code: 1\n/);
    expect((await run('exit 0')).content).toMatch(/^Exit code: 0\n/);
  });

  test('a shell killed mid-command is reported and replaced', async () => {
    const pending = run('sleep 20; echo not-reached', 60);
    await new Promise((r) => setTimeout(r, 500));
    await execInSandbox(docker, containerId, ['pkill', '-KILL', '-f', '^bash --noprofile --norc -c LC_ALL=C']);
    const r = await pending;
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/The shell running this ended abruptly[\s\S]*A fresh shell is ready/);
  });

  test('a fork bomb hits the PID limit and is cleaned up', async () => {
    const r = await run(':(){ :|:& };:; sleep 3', 4);
    expect(r.isError).toBe(false);
    expect(r.content).toMatch(/Resource temporarily unavailable|retry/);
    // The limit by behaviour: of 100 processes started at once, the kernel refuses some (EAGAIN).
    const spawner =
      "const {spawn}=require('child_process');let ok=0,no=0;" +
      "for(let i=0;i<100;i++){try{const c=spawn('sleep',['30']);c.on('spawn',()=>ok++);c.on('error',()=>no++)}catch{no++}}" +
      "setTimeout(()=>{console.log(ok+' '+no);process.exit(0)},1500)";
    const many = await call('run_command', { command: `node -e "${spawner}"`, timeout_seconds: 20 });
    const [ok, refused] = (/--- stdout ---\n(\d+) (\d+)/.exec(many.content) ?? []).slice(1).map(Number);
    expect(ok, many.content).toBeLessThan(64);
    expect(refused).toBeGreaterThan(0);
  });

  test('a memory hog is killed by the memory limit, with a readable reason', async () => {
    const r = await run('head -c 1000m /dev/zero | tail > /dev/null', 60);
    expect(r.content).toMatch(/^Exit code: 137 \(killed by SIGKILL: usually the sandbox memory limit\)/);
    // Under the limit the same thing works: it is the limit, not the command, that killed it.
    expect((await run('head -c 100m /dev/zero | tail > /dev/null', 60)).content).toMatch(/^Exit code: 0/);
  });
});

describe('scope limits', () => {
  test('writes to forbidden paths, through symlinks too, and oversized files are refused and recorded', async () => {
    events.length = 0;
    await raw('cd /workspace && printf "A=1\\n" > .env && ln -sfn .env innocent.txt');
    const forbidden = [
      '.env',
      'config/.env.local',
      'certs/server.pem',
      'deploy/id_rsa',
      'secrets/token.txt',
      'package-lock.json',
      '.git/config',
      'generated/api.ts',
      'innocent.txt',
    ];
    for (const p of forbidden) {
      const r = await call('write_file', { path: p, content: 'X=2\n' });
      expect(r, p).toMatchObject({ isError: true, content: expect.stringMatching(/is not allowed \(forbidden path pattern/) });
    }
    expect(await call('write_file', { path: 'big.txt', content: 'x'.repeat(5000) })).toMatchObject({
      isError: true,
      content: expect.stringMatching(/at most 4096 bytes/),
    });
    expect((await raw('cat /workspace/.env')).toString()).toBe('A=1\n');
    expect(events.map((e) => e.kind)).toEqual(Array(forbidden.length + 1).fill('scope_violation'));
    expect(events.find((e) => e.details.path === 'innocent.txt')?.details.resolved).toBe('.env');
    expect(await call('write_file', { path: 'src/ok.js', content: 'ok\n' })).toMatchObject({ isError: false });
  });

  test('denied commands are refused before they run and recorded', async () => {
    events.length = 0;
    for (const c of ['git push origin HEAD', 'curl -s http://example.com', 'wget x', 'cat /proc/1/environ', 'rm -rf /', 'cd src && git -c x=y push']) {
      const r = await run(c);
      expect(r, c).toMatchObject({ isError: true, content: expect.stringMatching(/^Command refused by the [a-z-]+ rule/) });
    }
    expect(events).toHaveLength(6);
    expect(events.every((e) => e.kind === 'command_denied')).toBe(true);
    expect((await run('echo curling is a sport')).content).toMatch(/^Exit code: 0/);
  });
});

/** Calls syscalls by number from Python (the image has no keyctl or bpf tools): `name:nr:arg...`, `buf` a 256-byte buffer. */
const SYSCALL_PROBE = `import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
for spec in sys.argv[1:]:
    name, nr, *args = spec.split(":")
    r = libc.syscall(int(nr), *[ctypes.create_string_buffer(256) if a == "buf" else ctypes.c_long(int(a, 0)) for a in args])
    print(name, "OK" if r >= 0 else errno.errorcode[ctypes.get_errno()])`;
const py = async (script: string, ...args: string[]) => (await execInSandbox(docker, containerId, ['python3', '-c', script, ...args])).stdout.toString();
const probe = async (...specs: string[]) =>
  Object.fromEntries(
    (await py(SYSCALL_PROBE, ...specs))
      .trim()
      .split('\n')
      .map((l) => l.split(' ')),
  ) as Record<string, string>;

describe('kernel isolation (seccomp profile docker/seccomp-sandbox.json, no capabilities)', () => {
  // Docker's default profile already refuses these to a container without capabilities; our profile
  // must keep refusing them (and does whatever capabilities a container is given).
  test('new namespaces, mounts, the kernel keyring and bpf are refused', async () => {
    const out = (await raw('unshare -U true; echo "U=$?"; unshare -m true; echo "m=$?"; mount -t tmpfs x /mnt; echo "mount=$?"')).toString();
    expect(out).toMatch(/^U=[1-9]\d*\nm=[1-9]\d*\nmount=[1-9]\d*\n$/);
    // x86_64 numbers: keyctl(KEYCTL_GET_KEYRING_ID, session), add_key, bpf(BPF_MAP_CREATE), userfaultfd, setns, unshare(CLONE_NEWUSER)
    expect(
      await probe('keyctl:250:0:-3', 'add_key:248:buf:buf:buf:1:-3', 'bpf:321:0:buf:72', 'userfaultfd:323:0', 'setns:308:0:0', 'unshare:272:0x10000000'),
    ).toEqual({
      keyctl: 'EPERM',
      add_key: 'EPERM',
      bpf: 'EPERM',
      userfaultfd: 'EPERM',
      setns: 'EPERM',
      unshare: 'EPERM',
    });
  });

  // Newly refused by our profile: Docker's default allows all of these (ptrace on kernels >= 4.8).
  test('ptrace, io_uring, 32-bit personalities and rare socket families are refused', async () => {
    const traceme = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0: os._exit(0 if libc.ptrace(0, 0, 0, 0) == 0 else ctypes.get_errno())
print("ptrace", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))`;
    expect(await py(traceme)).toBe('ptrace 1\n');
    // io_uring answers ENOSYS, so runtimes that try it (libuv, liburing) fall back as on an old kernel.
    expect(await probe('io_uring_setup:425:1:buf', 'personality:135:8')).toEqual({ io_uring_setup: 'ENOSYS', personality: 'EPERM' });
    const sockets = `import socket
for fam in (40, 38, 17):
    try: socket.socket(fam, socket.SOCK_SEQPACKET).close(); print(fam, "OK")
    except OSError as e: print(fam, e.errno)`;
    // AF_VSOCK, AF_ALG, AF_PACKET: EPERM (1) from the profile, not the kernel's "unsupported" or "no device".
    expect(await py(sockets)).toBe('40 1\n38 1\n17 1\n');
  });

  test('a normal workflow still runs: git, node, python, npm, a JVM, subprocesses, loopback', async () => {
    const workflow = [
      'set -e; cd /tmp && rm -rf wf && mkdir wf && cd wf && git init -q && echo x > a && git add a',
      'git -c user.email=a@b -c user.name=a commit -qm one && git log --format=%s',
      `node -e 'const c=require("child_process");console.log(c.execFileSync("sh",["-c","echo forked"]).toString().trim());require("net").createServer().listen(0,"127.0.0.1",function(){console.log("listening");this.close()})'`,
      `python3 -c 'import subprocess; print(subprocess.run(["echo", "py-child"], capture_output=True, text=True).stdout.strip())'`,
      'npm --version >/dev/null && echo npm',
      `printf 'class H { public static void main(String[] a) throws Exception { Thread t = new Thread(() -> System.out.println("jvm thread")); t.start(); t.join(); } }' > H.java && java H.java`,
    ].join('\n');
    const r = await execInSandbox(docker, containerId, ['bash', '-c', workflow], { timeoutMs: 120_000 });
    expect(r.stdout.toString() + r.stderr.toString()).toBe('one\nforked\nlistening\npy-child\nnpm\njvm thread\n');
  });
});
