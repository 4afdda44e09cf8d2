/**
 * The toolchains a project environment may ask for: the contract the admin API validates against
 * and the sandbox image builder (src/sandbox/toolchain-image.ts) honours. Pure; bundled into workflows.
 *
 * What the sandbox base image already has (docker/base-packages.txt, Debian bookworm): Node 18
 * (Debian's nodejs), Python 3.11 with venv and pip, OpenJDK 17 with Maven 3.8.7. Anything else
 * (Node 20/22/24, any Go) is added by a per-spec toolchain image built FROM the base.
 */

/** Go 1.21 or later, as a full release version (`1.22.5`, `1.23.0`): what golang.org/toolchain publishes. */
export const GO_VERSION_PATTERN = /^1\.(2[1-9]|[3-9]\d|[1-9]\d{2,})\.(0|[1-9]\d*)$/;

export const SUPPORTED_TOOLCHAINS = {
  /** majors only: the newest release of that major is installed */
  node: ['18', '20', '22', '24'],
  python: ['3.11'],
  /** OpenJDK 17 with Maven 3.8.7 */
  java: ['17'],
  go: GO_VERSION_PATTERN,
} as const;

export interface Toolchains {
  node?: string;
  python?: string;
  go?: string;
  java?: string;
}

export type ToolchainName = keyof Toolchains;

export const TOOLCHAIN_NAMES: readonly ToolchainName[] = ['node', 'python', 'go', 'java'];

/** The versions the base image provides: a spec asking for no other needs no toolchain image. */
export const BASE_TOOLCHAINS = { node: '18', python: '3.11', java: '17' } as const satisfies Toolchains;

/** What is wrong with a spec, one message per problem; empty when it is supported. */
export function toolchainErrors(toolchains: Toolchains): string[] {
  const errors: string[] = [];
  for (const [name, version] of Object.entries(toolchains) as Array<[string, unknown]>) {
    if (version === undefined) continue;
    if (!(TOOLCHAIN_NAMES as readonly string[]).includes(name)) {
      errors.push(`unknown toolchain '${name}' (supported: ${TOOLCHAIN_NAMES.join(', ')})`);
      continue;
    }
    if (typeof version !== 'string') {
      errors.push(`${name}: the version must be a string`);
      continue;
    }
    if (name === 'go') {
      if (!GO_VERSION_PATTERN.test(version)) errors.push(`go: '${version}' is not a Go release 1.21.0 or later (e.g. 1.22.5)`);
      continue;
    }
    const allowed: readonly string[] = SUPPORTED_TOOLCHAINS[name as Exclude<ToolchainName, 'go'>];
    if (!allowed.includes(version)) errors.push(`${name}: '${version}' is not supported (supported: ${allowed.join(', ')})`);
  }
  return errors;
}

export function isSupportedToolchains(toolchains: Toolchains): boolean {
  return toolchainErrors(toolchains).length === 0;
}

/** What a toolchain image adds to the base (keys in a fixed order); `{}` when the base suffices. */
export function toolchainImageSpec(toolchains: Toolchains): { go?: string; node?: string } {
  return {
    ...(toolchains.go ? { go: toolchains.go } : {}),
    ...(toolchains.node && toolchains.node !== BASE_TOOLCHAINS.node ? { node: toolchains.node } : {}),
  };
}

export function needsToolchainImage(toolchains: Toolchains): boolean {
  return Object.keys(toolchainImageSpec(toolchains)).length > 0;
}
