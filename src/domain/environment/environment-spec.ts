/**
 * A project's sandbox environment: which toolchains its image has, the setup that prepares the
 * repository (installs dependencies) before any agent runs, and what that setup may reach.
 * Pure data and defaults; bundled into workflows, so no I/O here.
 */

export const EGRESS_PRESET_NAMES = ['npm', 'pypi', 'go', 'maven', 'debian'] as const;
export type EgressPresetName = (typeof EGRESS_PRESET_NAMES)[number];

export interface EnvironmentToolchains {
  node?: string;
  python?: string;
  go?: string;
  java?: string;
}

export interface EnvironmentSpec {
  toolchains: EnvironmentToolchains;
  /** bash script run in /workspace at the base commit, with egress through the allowlist proxy */
  setup?: string;
  /** opt-in: a repository file (e.g. `.bugfix/setup.sh`) run with bash after `setup` */
  setupFile?: string;
  egress?: { presets?: EgressPresetName[]; hosts?: string[] };
  /** repository files whose content keys the prepared image (lock files, manifests) */
  cacheKeyFiles?: string[];
  /** plain variables for the setup and the agent phase (secrets are a separate, setup-only column) */
  env?: Record<string, string>;
  setupTimeoutMinutes?: number;
  /** the setup's writes (dependencies, caches) may not exceed this */
  setupDiskMb?: number;
}

export const DEFAULT_SETUP_TIMEOUT_MINUTES = 20;
export const DEFAULT_SETUP_DISK_MB = 4096;

/** Lock and manifest files that key the image when the project names none, per toolchain. */
const KEY_FILES: Record<keyof EnvironmentToolchains, string[]> = {
  node: ['package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml'],
  python: ['requirements.txt', 'requirements-dev.txt', 'pyproject.toml', 'poetry.lock', 'Pipfile.lock', 'setup.py', 'setup.cfg'],
  go: ['go.mod', 'go.sum'],
  java: ['pom.xml'],
};

export function cacheKeyFilesOf(spec: EnvironmentSpec): string[] {
  if (spec.cacheKeyFiles?.length) return [...new Set(spec.cacheKeyFiles)].sort();
  const files = (Object.keys(spec.toolchains) as Array<keyof EnvironmentToolchains>).flatMap((t) => (spec.toolchains[t] ? KEY_FILES[t] : []));
  return [...new Set([...files, ...(spec.setupFile ? [spec.setupFile] : [])])].sort();
}

/**
 * Variables of the agent phase that keep each toolchain off the network and on what the setup
 * fetched: there is no network then, and a tool that tries one only loses time and confuses.
 */
export function offlineEnv(spec: EnvironmentSpec): Record<string, string> {
  const t = spec.toolchains;
  return {
    ...(t.node ? { npm_config_offline: 'true' } : {}),
    ...(t.python ? { PIP_NO_INDEX: '1' } : {}),
    ...(t.go ? { GOPROXY: 'off', GOTOOLCHAIN: 'local' } : {}),
    // Maven 3.8 reads no arguments from the environment: the setup leaves ~/.m2/settings.xml offline.
  };
}

/** One line for the agent's prompt: what it has and how the project runs its tests. */
export function describeEnvironment(spec: EnvironmentSpec, validation: Record<string, string | undefined>): string {
  const t = spec.toolchains;
  const tools = [
    t.node && `Node.js ${t.node} (npm)`,
    t.python && `Python ${t.python} (a venv, if the setup made one, is in the workspace)`,
    t.go && `Go ${t.go}`,
    t.java && `Java ${t.java} with Maven (offline: use -o)`,
  ].filter(Boolean);
  const commands = Object.entries(validation)
    .filter(([, c]) => c)
    .map(([gate, c]) => `${gate}: \`${c}\``);
  return (
    `Environment: ${tools.join(', ') || 'the base image'}; dependencies were installed by the project's setup before you started, ` +
    `and there is no network access now.${commands.length ? ` Project commands — ${commands.join('; ')}.` : ''}`
  );
}
