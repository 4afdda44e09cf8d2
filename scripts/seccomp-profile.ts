/**
 * Derives docker/seccomp-sandbox.json (the sandbox's seccomp profile, src/sandbox/security-profile.ts)
 * from Docker's default profile, so the tightening is reviewable as code and repeatable when the
 * engine's default moves on:
 *   npx tsx scripts/seccomp-profile.ts <moby>/profiles/seccomp/default.json && npx prettier --write docker/seccomp-sandbox.json
 * The checked-in profile was derived from moby v20.10.24 (the engine this project runs on).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
  comment?: string;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}
interface Profile {
  defaultAction: string;
  archMap: unknown[];
  syscalls: Rule[];
}

const ENOSYS = 38;
/** Kernel interfaces a build or test run never needs; io_uring answers ENOSYS so libuv and liburing fall back as on an old kernel. */
const AS_IF_ABSENT = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];
/** personality(2): the query and the plain Linux persona only (no READ_IMPLIES_EXEC, no ADDR_NO_RANDOMIZE, no 32-bit uname games). */
const PERSONALITIES = [0, 0xffffffff];
/** socket(2) families: unix, IPv4, IPv6 (the network is off, loopback tests still bind) and netlink (getifaddrs). */
const SOCKET_FAMILIES = [1, 2, 10, 16];

function deriveSandboxProfile(upstream: Profile): Profile {
  const syscalls: Rule[] = [];
  for (const rule of upstream.syscalls) {
    // The sandbox holds no capabilities: what Docker allows only with one (mount, unshare, setns,
    // bpf, perf_event_open, ptrace's relatives, chroot, ...) is not allowed at all, whatever caps a
    // container might be given by mistake.
    if (rule.includes?.caps?.length) continue;
    // ptrace is allowed by default on kernels >= 4.8; no build or test run here needs it.
    if (rule.names.includes('ptrace')) continue;
    if (rule.names.includes('personality') && !PERSONALITIES.includes(rule.args?.[0]?.value ?? -1)) continue;
    const names = rule.names.filter((n) => !AS_IF_ABSENT.includes(n) && n !== 'socket');
    if (!names.length) continue;
    // clone without namespace flags and clone3's ENOSYS: unconditionally, not only without CAP_SYS_ADMIN.
    const excludes = { ...rule.excludes };
    delete excludes.caps;
    syscalls.push({ ...rule, names, excludes });
  }
  for (const family of SOCKET_FAMILIES) {
    syscalls.push({ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: family, op: 'SCMP_CMP_EQ' }], includes: {}, excludes: {} });
  }
  syscalls.push({ names: AS_IF_ABSENT, action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, args: [], includes: {}, excludes: {} });
  return { defaultAction: upstream.defaultAction, archMap: upstream.archMap, syscalls };
}

const source = process.argv[2];
if (!source) {
  console.error('usage: tsx scripts/seccomp-profile.ts <path to moby profiles/seccomp/default.json>');
  process.exit(2);
}
const out = path.join(PROJECT_ROOT, 'docker', 'seccomp-sandbox.json');
fs.writeFileSync(out, JSON.stringify(deriveSandboxProfile(JSON.parse(fs.readFileSync(source, 'utf8')) as Profile), null, 2) + '\n');
console.log(`wrote ${path.relative(PROJECT_ROOT, out)}`);
