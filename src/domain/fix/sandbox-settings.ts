/**
 * Per-project sandbox settings (the Project `sandbox` JSON column) turned into container limits.
 * Values are clamped: a project's settings come from an admin, but a typo must not create a
 * sandbox with 0 bytes of memory or an unlimited PID count.
 */

export interface SandboxLimits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  workspaceSize: string;
  tmpSize: string;
  /** the container stops itself after this long (a backstop behind the workflow's own budget) */
  wallClockSeconds?: number;
}

export interface SandboxSettings {
  memoryMb?: number;
  cpus?: number;
  pids?: number;
  workspaceMb?: number;
  wallClockMinutes?: number;
  /** run in the workspace after the repository (and any checkpoint) is in, before the agent starts */
  installCommand?: string;
  /** allow a network during installCommand only; needs the operator's SANDBOX_INSTALL_NETWORK too */
  installNetwork?: boolean;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  memoryBytes: 2 * 1024 ** 3,
  nanoCpus: 1_000_000_000,
  pidsLimit: 256,
  workspaceSize: '1g',
  tmpSize: '256m',
  wallClockSeconds: 2 * 60 * 60,
};

const MB = 1024 ** 2;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads the JSON column leniently: unknown or mistyped fields are ignored, numbers clamped. */
export function parseSandboxSettings(json: unknown): SandboxSettings {
  const o = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  return {
    memoryMb: num(o.memoryMb),
    cpus: num(o.cpus),
    pids: num(o.pids),
    workspaceMb: num(o.workspaceMb),
    wallClockMinutes: num(o.wallClockMinutes),
    installCommand: typeof o.installCommand === 'string' && o.installCommand.trim() ? o.installCommand : undefined,
    installNetwork: o.installNetwork === true,
  };
}

export function sandboxLimitsFor(settings: SandboxSettings, base: SandboxLimits = DEFAULT_SANDBOX_LIMITS): SandboxLimits {
  return {
    memoryBytes: settings.memoryMb !== undefined ? Math.round(clamp(settings.memoryMb, 64, 32_768)) * MB : base.memoryBytes,
    nanoCpus: settings.cpus !== undefined ? Math.round(clamp(settings.cpus, 0.1, 16) * 1e9) : base.nanoCpus,
    pidsLimit: settings.pids !== undefined ? Math.round(clamp(settings.pids, 32, 4096)) : base.pidsLimit,
    workspaceSize: settings.workspaceMb !== undefined ? `${Math.round(clamp(settings.workspaceMb, 16, 65_536))}m` : base.workspaceSize,
    tmpSize: base.tmpSize,
    wallClockSeconds: settings.wallClockMinutes !== undefined ? Math.round(clamp(settings.wallClockMinutes, 5, 24 * 60) * 60) : base.wallClockSeconds,
  };
}
