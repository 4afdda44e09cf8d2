/**
 * The checked-in seccomp profile as data (the behaviour is in test/activities/sandbox-hostile.test.ts),
 * and the settings every sandbox container gets from configuration.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';
import Docker from 'dockerode';
import { describeIsolation, engineIsolation, loadSeccompProfile, sandboxSecurity } from '../../src/sandbox/security-profile.js';

interface Rule {
  names: string[];
  action: string;
  args?: { index: number; value: number; op: string }[];
  includes?: { caps?: string[] };
  excludes?: { caps?: string[] };
}
const PROFILE = path.join(PROJECT_ROOT, 'docker', 'seccomp-sandbox.json');
const rules = (JSON.parse(fs.readFileSync(PROFILE, 'utf8')) as { syscalls: Rule[] }).syscalls;
const allowed = (name: string) => rules.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name));

afterEach(() => void vi.unstubAllEnvs());

describe('docker/seccomp-sandbox.json', () => {
  test('never allows namespace, mount, keyring, bpf, tracing, module or kexec calls', () => {
    const denied = [
      ...['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'chroot', 'open_tree', 'move_mount', 'fsopen', 'fsmount'],
      ...['keyctl', 'add_key', 'request_key', 'bpf', 'userfaultfd', 'perf_event_open', 'ptrace', 'process_vm_readv', 'process_vm_writev'],
      ...['kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'io_uring_setup', 'reboot', 'syslog'],
    ];
    expect(denied.filter((n) => allowed(n).length)).toEqual([]);
  });

  test('allows nothing by capability: the profile is the same whatever caps a container holds', () => {
    expect(rules.filter((r) => r.includes?.caps?.length || r.excludes?.caps?.length)).toEqual([]);
  });

  test('clone only without namespace flags; personality only the default and the query', () => {
    const newNamespaces = 0x7e020000; // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
    for (const r of allowed('clone')) expect(r.args).toEqual([expect.objectContaining({ value: newNamespaces, op: 'SCMP_CMP_MASKED_EQ' })]);
    expect(allowed('personality').map((r) => r.args?.[0]?.value)).toEqual([0, 0xffffffff]);
  });
});

describe('sandboxSecurity', () => {
  test('sends the profile itself (compact JSON), no-new-privileges, and no AppArmor or runtime unless configured', () => {
    vi.stubEnv('SANDBOX_APPARMOR_PROFILE', '');
    vi.stubEnv('SANDBOX_RUNTIME', '');
    const s = sandboxSecurity();
    expect(s.SecurityOpt[0]).toBe('no-new-privileges');
    expect(JSON.parse(s.SecurityOpt[1]!.replace(/^seccomp=/, ''))).toEqual(JSON.parse(fs.readFileSync(PROFILE, 'utf8')));
    expect(s.SecurityOpt).toHaveLength(2);
    expect(s.Runtime).toBeUndefined();
  });

  test('passes a configured AppArmor profile and runtime (gVisor)', () => {
    vi.stubEnv('SANDBOX_APPARMOR_PROFILE', 'bugfix-sandbox');
    vi.stubEnv('SANDBOX_RUNTIME', 'runsc');
    expect(sandboxSecurity()).toMatchObject({ SecurityOpt: expect.arrayContaining(['apparmor=bugfix-sandbox']), Runtime: 'runsc' });
  });

  test('a missing or allow-by-default profile is refused with its path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-seccomp-'));
    const open = path.join(dir, 'open.json');
    fs.writeFileSync(open, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] }));
    expect(() => loadSeccompProfile(open)).toThrow(/must deny by default/);
    expect(() => loadSeccompProfile(path.join(dir, 'none.json'))).toThrow(/SANDBOX_SECCOMP_PROFILE: cannot read .*none\.json/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('engineIsolation', () => {
  test('reads what the engine enforces, and whether a configured runtime is registered', async () => {
    const docker = new Docker();
    const info = (await docker.info()) as { SecurityOptions: string[] };
    const e = await engineIsolation(docker);
    expect(e.seccomp).toBe(info.SecurityOptions.some((o) => o.startsWith('name=seccomp')));
    expect(e.userns).toBe(info.SecurityOptions.includes('name=userns'));
    expect(e).toMatchObject({ defaultRuntime: 'runc', runtimeKnown: true });
    expect(describeIsolation(e)).toMatch(/^userns-remap (on|off), seccomp on \(sandbox profile\), apparmor .+, runtime runc$/);
    vi.stubEnv('SANDBOX_RUNTIME', 'no-such-runtime');
    const unknown = await engineIsolation(docker);
    expect(unknown.runtimeKnown).toBe(false);
    expect(describeIsolation(unknown)).toMatch(/runtime no-such-runtime \(NOT registered with the engine\)$/);
  });
});
