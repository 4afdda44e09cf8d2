/**
 * The agent's tools against a real hardened sandbox container: bytes in and out exactly, paths
 * confined (symlinks too), errors the model can read, and the container's hardening itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cloneOnHost, createSandboxContainer, streamRepoIntoSandbox } from '../../src/sandbox/container.js';
import { execInSandbox } from '../../src/sandbox/exec.js';
import { ShellPool } from '../../src/sandbox/shell-pool.js';
import { ToolExecutor } from '../../src/sandbox/tool-executor.js';
import type { ToolOutcome } from '../../src/sandbox/tool-call.js';
import { createValidationActivities } from '../../activities/validation.js';
import { loadConfig } from '../../src/config.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';

const docker = new Docker();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-tools-'));
let containerId: string;
let tools: ToolExecutor;
const shells = new ShellPool(docker);
let n = 0;
const call = (name: string, input: Record<string, unknown> = {}): Promise<ToolOutcome> => tools.run({ id: `t${n++}`, name, input });
const sh = async (cmd: string) => (await execInSandbox(docker, containerId, ['bash', '-c', cmd])).stdout.toString().trim();

beforeAll(async () => {
  const bare = createBareRemote('pagination', path.join(tmp, 'remote.git'));
  const req = {
    workflowId: `tools-test-${Date.now()}`,
    bugId: '00000000-0000-0000-0000-000000000000',
    projectKey: 'tools',
    cloneUrl: bare,
    defaultBranch: 'main',
  };
  const { dir } = await cloneOnHost(path.join(tmp, 'work'), req, 'ghp_secret_token_never_in_sandbox');
  const container = await createSandboxContainer(docker, loadConfig().SANDBOX_IMAGE, req, 'test-host');
  containerId = container.id;
  await streamRepoIntoSandbox(docker, containerId, dir);
  tools = new ToolExecutor(docker, containerId, { shells });
});

afterAll(async () => {
  shells.closeAll();
  await docker
    .getContainer(containerId)
    .remove({ force: true })
    .catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('sandbox hardening', () => {
  test('non-root, read-only root, no capabilities, no network, no secrets', async () => {
    expect(await sh('id -u')).toBe('1001');
    expect(await sh('touch /etc/evil 2>&1; echo rc=$?')).toMatch(/Read-only file system[\s\S]*rc=1/);
    expect(await sh("grep CapEff /proc/self/status | awk '{print $2}'")).toBe('0000000000000000');
    expect(await sh("grep NoNewPrivs /proc/self/status | awk '{print $2}'")).toBe('1');
    expect(await sh("tail -n +3 /proc/net/dev | awk -F: '{print $1}' | tr -d ' '")).toBe('lo');
    // Loopback only, and `localhost` resolves there (test runners bind to it).
    expect(await sh(`node -e "require('dns').lookup('localhost', (e, a) => console.log(e ? e.code : a))"`)).toMatch(/^(127\.0\.0\.1|::1)$/);
    const inspect = await docker.getContainer(containerId).inspect();
    expect(inspect.HostConfig.Memory).toBe(inspect.HostConfig.MemorySwap);
    expect(inspect.HostConfig.PidsLimit).toBeGreaterThan(0);
    // The clone token stayed on the host: not in the environment, not in the repository's config.
    expect(await sh('env; cat /workspace/.git/config; git -C /workspace remote -v')).not.toMatch(/ghp_secret|remote\.origin/);
  });
});

describe('agent tools in the sandbox', () => {
  test('write then read round-trips content a shell would mangle', async () => {
    const nasty = 'line \'one\' "two" $(id) `id` \\n EOF\n<<EOF\nEOF\n\ttab and unicode: é ✓\n';
    expect(await call('write_file', { path: 'notes/nasty.txt', content: nasty })).toMatchObject({ isError: false });
    const raw = (await execInSandbox(docker, containerId, ['cat', '/workspace/notes/nasty.txt'])).stdout.toString('utf8');
    expect(raw).toBe(nasty);
    const read = await call('read_file', { path: 'notes/nasty.txt', start_line: 2, end_line: 3 });
    expect(read.content).toBe('2\t<<EOF\n3\tEOF');
  });

  test('edit_file replaces a unique match and explains 0 or many matches', async () => {
    await call('write_file', { path: 'e.txt', content: 'a\nb\nb\n' });
    expect(await call('edit_file', { path: 'e.txt', old_string: 'a\n', new_string: 'A\n' })).toMatchObject({ isError: false });
    expect(await call('edit_file', { path: 'e.txt', old_string: 'b', new_string: 'B' })).toMatchObject({
      isError: true,
      content: expect.stringMatching(/occurs 2 times/),
    });
    expect(await call('edit_file', { path: 'e.txt', old_string: 'zzz', new_string: 'B' })).toMatchObject({
      isError: true,
      content: expect.stringMatching(/not found/),
    });
    expect(await sh('cat /workspace/e.txt')).toBe('A\nb\nb');
  });

  test('edit_file refuses a file that is not UTF-8 rather than turn its other bytes into U+FFFD', async () => {
    await sh("printf 'caf\\351 = 1\\nx = 2\\n' > /workspace/latin1.txt");
    const before = await sh('od -An -tx1 /workspace/latin1.txt');
    expect(before).toContain('e9');
    const edit = await call('edit_file', { path: 'latin1.txt', old_string: 'x = 2', new_string: 'x = 3' });
    expect(edit).toMatchObject({
      isError: true,
      content: expect.stringMatching(/^latin1\.txt is not UTF-8 text; edit_file would corrupt its other bytes\. Change it with run_command/),
    });
    expect(await sh('od -An -tx1 /workspace/latin1.txt')).toBe(before);
    await sh('rm /workspace/latin1.txt');
  });

  test('read_file and edit_file refuse a file over 2 MiB readably instead of using a cut copy', async () => {
    await sh("{ echo start; head -c 3000000 /dev/zero | tr '\\0' a; } > /workspace/big.txt");
    for (const [name, input] of [
      ['read_file', { path: 'big.txt', end_line: 1 }],
      ['edit_file', { path: 'big.txt', old_string: 'start', new_string: 'START' }],
    ] as const) {
      expect(await call(name, input), name).toMatchObject({
        isError: true,
        content: expect.stringMatching(/^big\.txt is over 2097152 bytes \(2 MiB\), more than read_file and edit_file take\. Use run_command/),
      });
    }
    expect(await sh('wc -c < /workspace/big.txt; head -c 5 /workspace/big.txt')).toBe('3000006\nstart');
    // Exactly at the limit is still read whole.
    await sh("{ echo start; head -c 2097146 /dev/zero | tr '\\0' a; } > /workspace/big.txt");
    expect(await call('read_file', { path: 'big.txt', end_line: 1 })).toMatchObject({ isError: false, content: '1\tstart' });
    await sh('rm /workspace/big.txt');
  });

  test('paths outside the workspace are refused, symlinks included', async () => {
    await sh('ln -s /etc /workspace/etc-link');
    for (const p of ['/etc/passwd', '../../etc/passwd', 'etc-link/passwd']) {
      const r = await call('read_file', { path: p });
      expect(r.isError, p).toBe(true);
      expect(r.content).not.toContain('root:x:0');
    }
    expect(await call('write_file', { path: 'etc-link/evil', content: 'x' })).toMatchObject({
      isError: true,
      content: expect.stringMatching(/outside the repository/),
    });
    // rg given the link as its root would follow it: list and search check like the file tools.
    const listed = await call('list_files', { path: 'etc-link' });
    expect(listed).toMatchObject({ isError: true, content: 'path resolves outside the repository: etc-link' });
    for (const p of ['etc-link', 'etc-link/passwd']) {
      const found = await call('search_code', { pattern: 'root', path: p });
      expect(found, p).toMatchObject({ isError: true, content: expect.stringMatching(/outside the repository/) });
      expect(found.content).not.toContain('root:x:0');
    }
  });

  test('list, search, run with exit code and timeout', async () => {
    expect((await call('list_files', { pattern: '**/*.js' })).content.split('\n')).toEqual(['src/paginate.js', 'test/paginate.test.js']);
    expect((await call('search_code', { pattern: 'function \\w+', file_pattern: '*.js' })).content).toMatch(/src\/paginate\.js:7:function paginate/);
    expect((await call('search_code', { pattern: 'no_such_thing_anywhere' })).content).toBe('(no matches)');
    // A single file searched still says which file (rg leaves the path out unless told).
    expect((await call('search_code', { pattern: 'function \\w+', path: 'src/paginate.js' })).content).toMatch(/^src\/paginate\.js:7:function paginate/);
    const failing = await call('run_command', { command: 'echo out; echo err >&2; exit 3' });
    expect(failing.content).toMatch(/^Exit code: 3\n--- stdout ---\nout\n+--- stderr ---\nerr/);
    const started = Date.now();
    const slow = await call('run_command', { command: 'sleep 30', timeout_seconds: 1 });
    expect(slow.content).toMatch(/Timed out after 1 s/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('bad input and unknown tools come back as readable errors', async () => {
    expect(await call('read_file', {})).toMatchObject({ isError: true, content: expect.stringMatching(/Invalid input for read_file: path/) });
    expect(await call('rm_rf', {})).toMatchObject({ isError: true, content: 'Unknown tool rm_rf.' });
    expect(await call('git_create_branch', { branch_name: 'main; rm -rf /' })).toMatchObject({
      isError: true,
      content: expect.stringMatching(/refusing branch name/),
    });
  });

  test('git_diff shows new files too, and leaves the index as it was', async () => {
    await call('write_file', { path: 'src/added.js', content: 'export const added = 1;\n' });
    const diff = (await call('git_diff')).content;
    expect(diff).toMatch(/^diff --git a\/src\/added\.js b\/src\/added\.js\nnew file mode 100644\n[\s\S]*\n\+export const added = 1;$/m);
    expect(diff).toContain('diff --git a/e.txt b/e.txt');
    expect(await sh('git -C /workspace status --porcelain -- src/added.js')).toBe('?? src/added.js');
  });

  test('git tools commit the agent work', async () => {
    expect((await call('git_status')).content).toMatch(/\?\? e\.txt/);
    expect(await call('git_commit', { message: 'agent work' })).toMatchObject({ isError: false, content: expect.stringMatching(/^Committed [0-9a-f]+/) });
    expect(await call('git_commit', { message: 'again' })).toMatchObject({ isError: true, content: expect.stringMatching(/Nothing to commit/) });
    expect(await sh('git -C /workspace log --format=%an%n%s -1')).toBe('bugfix-agent\nagent work');
  });
});

describe('a sandbox lost under a command', () => {
  test('is reported as SandboxGone, not as the command exiting 137 (found by npm run chaos)', async () => {
    const bare = path.join(tmp, 'remote.git');
    const req = {
      workflowId: `tools-lost-${Date.now()}`,
      bugId: '00000000-0000-0000-0000-000000000000',
      projectKey: 'tools',
      cloneUrl: bare,
      defaultBranch: 'main',
    };
    const doomed = await createSandboxContainer(docker, loadConfig().SANDBOX_IMAGE, req, 'test-host');
    // Settled into a value at once: the rejection comes while the removal is still awaited.
    const outcome = execInSandbox(docker, doomed.id, ['bash', '-c', 'echo started; sleep 30'], { timeoutMs: 60_000 }).then(
      (r) => r,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 500));
    await docker.getContainer(doomed.id).remove({ force: true });
    expect(await outcome).toMatchObject({ type: 'SandboxGone' });
  });

  test('a command killed in a sandbox that keeps running is still a result', async () => {
    const r = await execInSandbox(docker, containerId, ['bash', '-c', 'kill -9 $$']);
    expect(r.exitCode).toBe(137);
  });
});

describe('output of a one-off exec', () => {
  test('a validation gate printing 200 MB comes back as head and tail, not 200 MB on the worker', async () => {
    const printing = 'yes | head -c 200000000';
    const [gate] = await createValidationActivities({ docker }).runValidation({ containerId, commands: { test: printing } });
    expect(gate).toMatchObject({ gate: 'test', passed: true, exitCode: 0 });
    expect(gate!.output.length).toBeLessThanOrEqual(8_000);
    expect(gate!.output).toMatch(/^Exit code: 0\n--- stdout ---\ny\ny\n[\s\S]*\[\.\.\. \d+ (bytes|characters) cut \.\.\.\]/);

    const started = Date.now();
    const r = await execInSandbox(docker, containerId, ['bash', '-c', printing], { timeoutMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.exitCode).toBe(0);
    // 64 KiB at each end and the marker: what the worker held on to.
    expect(r.stdout.length).toBeLessThan(200 * 1024);
    expect(r.stdout.toString()).toMatch(/^y\ny\n[\s\S]*\n\[\.\.\. 199868928 bytes cut \.\.\.\]\ny\n[\s\S]*y\n$/);
    expect(r.captured.stdout.total).toBe(200_000_000);
  });

  test('an exact read past its limit fails clearly instead of returning a cut copy', async () => {
    const exact = await execInSandbox(docker, containerId, ['head', '-c', '1000000', '/dev/urandom'], { exactStdoutBytes: 1_000_000 });
    expect(exact.stdout.length).toBe(1_000_000);
    const over = execInSandbox(docker, containerId, ['head', '-c', '1000001', '/dev/urandom'], { exactStdoutBytes: 1_000_000 });
    await expect(over).rejects.toMatchObject({ type: 'OutputTooLarge', message: expect.stringMatching(/printed more than 1000000 bytes/) });
  });
});
