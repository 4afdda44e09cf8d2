/**
 * The kernel-facing settings every sandbox container is created with (fix sandboxes and
 * environment setups alike), set explicitly rather than left to the engine's defaults: our seccomp
 * profile (docker/seccomp-sandbox.json, derived from Docker's default by scripts/seccomp-profile.ts),
 * no-new-privileges, an AppArmor profile where the host has AppArmor and one is configured, and the
 * OCI runtime (gVisor's `runsc`) when configured.
 */
import fs from 'node:fs';
import type Docker from 'dockerode';
import { loadConfig } from '../config.js';

export interface SandboxSecurity {
  SecurityOpt: string[];
  /** HostConfig.Runtime; absent: the engine's default runtime */
  Runtime?: string;
}

/** The profile as the engine wants it in SecurityOpt: the JSON itself (the CLI reads the file; the API does not). */
export function loadSeccompProfile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`SANDBOX_SECCOMP_PROFILE: cannot read ${file}: ${(err as Error).message}`);
  }
  let profile: unknown;
  try {
    profile = JSON.parse(text);
  } catch (err) {
    throw new Error(`SANDBOX_SECCOMP_PROFILE: ${file} is not JSON: ${(err as Error).message}`);
  }
  const p = profile as { defaultAction?: unknown; syscalls?: unknown };
  // An allow-by-default profile would look like protection and be none.
  if (p.defaultAction !== 'SCMP_ACT_ERRNO' || !Array.isArray(p.syscalls))
    throw new Error(`SANDBOX_SECCOMP_PROFILE: ${file} must deny by default ("defaultAction": "SCMP_ACT_ERRNO") and list "syscalls"`);
  // Compact: the profile rides in every create request.
  return JSON.stringify(profile);
}

let memo: { key: string; security: SandboxSecurity } | undefined;
/** Read once per configuration (tests may point the variables elsewhere); the file is read at the first container. */
export function sandboxSecurity(): SandboxSecurity {
  const config = loadConfig();
  const key = [config.SANDBOX_SECCOMP_PROFILE, config.SANDBOX_APPARMOR_PROFILE, config.SANDBOX_RUNTIME].join('\n');
  if (memo?.key !== key) {
    const SecurityOpt = [
      'no-new-privileges',
      `seccomp=${loadSeccompProfile(config.SANDBOX_SECCOMP_PROFILE)}`,
      ...(config.SANDBOX_APPARMOR_PROFILE ? [`apparmor=${config.SANDBOX_APPARMOR_PROFILE}`] : []),
    ];
    memo = { key, security: { SecurityOpt, ...(config.SANDBOX_RUNTIME ? { Runtime: config.SANDBOX_RUNTIME } : {}) } };
  }
  return memo.security;
}

export interface EngineIsolation {
  userns: boolean;
  seccomp: boolean;
  apparmor: boolean;
  /** the engine's default runtime and whether the configured one is registered with it */
  defaultRuntime: string;
  runtimeKnown: boolean;
}

/** What the engine itself enforces (`docker info`): its SecurityOptions read `name=userns`, `name=seccomp,profile=...`. */
export async function engineIsolation(docker: Docker): Promise<EngineIsolation> {
  const info = (await docker.info()) as { SecurityOptions?: string[]; DefaultRuntime?: string; Runtimes?: Record<string, unknown> };
  const opts = info.SecurityOptions ?? [];
  const has = (name: string) => opts.some((o) => o.split(',').includes(`name=${name}`));
  const runtime = loadConfig().SANDBOX_RUNTIME;
  return {
    userns: has('userns'),
    seccomp: has('seccomp'),
    apparmor: has('apparmor'),
    defaultRuntime: info.DefaultRuntime ?? 'runc',
    runtimeKnown: !runtime || Object.hasOwn(info.Runtimes ?? {}, runtime),
  };
}

/** One line for the worker's start-up log. */
export function describeIsolation(e: EngineIsolation): string {
  const runtime = loadConfig().SANDBOX_RUNTIME;
  return [
    `userns-remap ${e.userns ? 'on' : 'off'}`,
    // gVisor implements the syscalls itself: runsc does not load an OCI seccomp profile inside.
    `seccomp ${runtime === 'runsc' ? "gVisor's own (runsc does not apply the profile)" : e.seccomp ? 'on (sandbox profile)' : 'NOT SUPPORTED by the engine'}`,
    `apparmor ${e.apparmor ? (loadConfig().SANDBOX_APPARMOR_PROFILE ?? 'engine default') : 'not on this host'}`,
    `runtime ${runtime ?? e.defaultRuntime}${e.runtimeKnown ? '' : ' (NOT registered with the engine)'}`,
  ].join(', ');
}
