/**
 * The admin API's schema of a project's environment (Project.environment) and its setup secrets
 * (Project.environmentSecrets, write-only). Validated here so a bad spec is a 400 naming the field,
 * not a failed fix later.
 */
import { z } from 'zod';
import { EGRESS_PRESET_NAMES, type EnvironmentSpec } from '../domain/environment/environment-spec.js';
import { GO_VERSION_PATTERN, SUPPORTED_TOOLCHAINS } from '../domain/environment/toolchains.js';

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Set by the product itself during setup or the agent phase: a project may not override them. */
const RESERVED_VARS = new Set(['PATH', 'HOME', 'USER', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY']);
const varName = z
  .string()
  .regex(VAR_NAME, 'a shell variable name')
  .refine((n) => !RESERVED_VARS.has(n), 'set by the product; not configurable');

const oneOf = (versions: readonly string[], what: string) =>
  z.string().refine((v) => versions.includes(v), { message: `unsupported ${what} version; supported: ${versions.join(', ')}` });

const toolchainsSchema = z
  .strictObject({
    node: oneOf(SUPPORTED_TOOLCHAINS.node, 'node').optional(),
    python: oneOf(SUPPORTED_TOOLCHAINS.python, 'python').optional(),
    java: oneOf(SUPPORTED_TOOLCHAINS.java, 'java').optional(),
    go: z.string().regex(GO_VERSION_PATTERN, 'a Go release 1.21 or later, like 1.22.5').optional(),
  })
  .refine((t) => Object.values(t).some(Boolean), 'name at least one toolchain');

/** host:port, or *.domain:port for its subdomains; no addresses (the proxy resolves names itself). */
const EGRESS_HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)+:[0-9]{1,5}$/;
/** A path inside the repository: relative, no `..`, no leading dash. */
const repoPath = z
  .string()
  .min(1)
  .max(300)
  .regex(/^(?!-)(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/@+-]+$/, 'a relative path inside the repository');

export const environmentSchema = z.strictObject({
  toolchains: toolchainsSchema,
  setup: z.string().min(1).max(20_000).optional(),
  setupFile: repoPath.optional(),
  egress: z
    .strictObject({
      presets: z.array(z.enum(EGRESS_PRESET_NAMES)).max(EGRESS_PRESET_NAMES.length).optional(),
      hosts: z.array(z.string().toLowerCase().regex(EGRESS_HOST, 'host:port (or *.domain:port)')).max(100).optional(),
    })
    .optional(),
  cacheKeyFiles: z.array(repoPath).max(50).optional(),
  env: z.record(varName, z.string().max(4096)).optional(),
  setupTimeoutMinutes: z.number().int().min(1).max(120).optional(),
  setupDiskMb: z.number().int().min(64).max(200_000).optional(),
}) satisfies z.ZodType<EnvironmentSpec>;

/** PATCH semantics per name: a value sets it, null removes it. */
export const environmentSecretsSchema = z.record(varName, z.string().min(1).max(8192).nullable());

/** Reads the stored column back (a row written before validation existed reads as no environment). */
export function parseEnvironment(json: unknown): EnvironmentSpec | null {
  if (json === null || json === undefined) return null;
  const r = environmentSchema.safeParse(json);
  return r.success ? r.data : null;
}

export function parseSecrets(json: unknown): Record<string, string> {
  const r = z.record(z.string(), z.string()).safeParse(json);
  return r.success ? r.data : {};
}

/** Merges a PATCH of secrets into the stored ones. */
export function mergeSecrets(stored: unknown, patch: Record<string, string | null>): Record<string, string> {
  const next = { ...parseSecrets(stored) };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete next[name];
    else next[name] = value;
  }
  return next;
}
