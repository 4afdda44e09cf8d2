/**
 * A project's GitHub triggers (Project.github): which labels, assignments and comments start a
 * fix, and the repository permission the person asking must hold. Unset fields take the defaults.
 */
import { z } from 'zod';
import { DEFAULT_GITHUB_TRIGGERS, type GitHubTriggerSettings } from '../domain/github/triggers.js';

/** GitHub's permission levels, weakest first (GET /repos/{o}/{r}/collaborators/{u}/permission). */
export const PERMISSION_LEVELS = ['none', 'read', 'triage', 'write', 'maintain', 'admin'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

export const githubSettingsSchema = z.strictObject({
  /** null: labels never trigger */
  label: z.string().trim().min(1).max(50).nullable().optional(),
  assignToBot: z.boolean().optional(),
  /** e.g. "/bugfix"; null: comments never trigger by command */
  command: z
    .string()
    .regex(/^\/[A-Za-z0-9_-]{1,40}$/, 'a slash and a word, e.g. /bugfix')
    .nullable()
    .optional(),
  mention: z.boolean().optional(),
  /** who may ask: write by default; triage or read only where that is intended */
  minPermission: z.enum(['read', 'triage', 'write', 'maintain', 'admin']).optional(),
  /** follow-up rounds one pull request may get; unset: GITHUB_MAX_ROUNDS_PER_PR */
  maxRoundsPerPr: z.number().int().min(0).max(50).optional(),
  /** dollars the pull request may cost in all (its fix and every round); unset: GITHUB_MAX_COST_USD_PER_PR */
  maxCostUsdPerPr: z.number().positive().max(10_000).optional(),
});
export type GitHubSettings = z.infer<typeof githubSettingsSchema>;

export interface ResolvedGitHubSettings {
  triggers: GitHubTriggerSettings;
  minPermission: PermissionLevel;
  /** unset: the deployment's GITHUB_MAX_ROUNDS_PER_PR */
  maxRoundsPerPr?: number;
  /** unset: the deployment's GITHUB_MAX_COST_USD_PER_PR */
  maxCostUsdPerPr?: number;
}

export function resolveGitHubSettings(stored: unknown): ResolvedGitHubSettings {
  const s = githubSettingsSchema.safeParse(stored ?? {});
  const v = s.success ? s.data : {};
  return {
    triggers: {
      label: v.label === undefined ? DEFAULT_GITHUB_TRIGGERS.label : v.label,
      assignToBot: v.assignToBot ?? DEFAULT_GITHUB_TRIGGERS.assignToBot,
      command: v.command === undefined ? DEFAULT_GITHUB_TRIGGERS.command : v.command,
      mention: v.mention ?? DEFAULT_GITHUB_TRIGGERS.mention,
    },
    minPermission: v.minPermission ?? 'write',
    ...(v.maxRoundsPerPr !== undefined ? { maxRoundsPerPr: v.maxRoundsPerPr } : {}),
    ...(v.maxCostUsdPerPr !== undefined ? { maxCostUsdPerPr: v.maxCostUsdPerPr } : {}),
  };
}

export const permits = (held: string, needed: PermissionLevel) => PERMISSION_LEVELS.indexOf(held as PermissionLevel) >= PERMISSION_LEVELS.indexOf(needed);
