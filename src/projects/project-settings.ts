/**
 * Schemas of a project's JSON settings columns (see prisma/schema.prisma comments), so what the
 * admin API stores is what the worker later reads.
 */
import { z } from 'zod';
import { OVERRIDABLE_FORBIDDEN_PATHS } from '../domain/agent/scope.js';
import { DELIVERY_MODES, GITHUB_LOGIN, type DeliverySettings } from '../domain/fix/fork.js';
import type { FixBudgets } from '../domain/fix/fix.js';

const positiveInt = z.number().int().positive();

export const budgetsSchema = z.strictObject({
  maxIterations: positiveInt.max(100_000).optional(),
  maxTokens: positiveInt.max(1_000_000_000).optional(),
  maxCostUsd: z.number().positive().max(10_000).optional(),
  maxDurationMs: positiveInt.max(7 * 24 * 3600_000).optional(),
  maxValidationRounds: positiveInt.max(100).optional(),
  /**
   * How far an operator may raise a running fix's budgets (admins are not bound by it). A budget
   * not named here is capped at the project's own value above (or the default).
   */
  operatorMax: z
    .strictObject({
      maxIterations: positiveInt.max(100_000).optional(),
      maxTokens: positiveInt.max(1_000_000_000).optional(),
      maxCostUsd: z.number().positive().max(10_000).optional(),
    })
    .optional(),
});

/** The per-fix budgets a fix of the project starts with (operatorMax only bounds raises). */
export function fixBudgetsOf(settings: z.infer<typeof budgetsSchema>): Partial<FixBudgets> {
  const own = { ...settings };
  delete own.operatorMax;
  return own;
}

/** fixBudgetsOf for the stored column as it is (unreadable settings: no budgets of its own). */
export function storedFixBudgets(stored: unknown): Partial<FixBudgets> {
  return fixBudgetsOf(budgetsSchema.safeParse(stored).data ?? {});
}

/** The most an operator may raise a fix of a project with these budget settings to. */
export function operatorBudgetCeiling(settings: z.infer<typeof budgetsSchema>, defaults: FixBudgets): FixBudgets {
  return { ...defaults, ...fixBudgetsOf(settings), ...settings.operatorMax };
}

export const scopeLimitsSchema = z.strictObject({
  maxFilesChanged: positiveInt.optional(),
  maxLinesChanged: positiveInt.optional(),
  forbiddenPaths: z.array(z.string().min(1).max(500)).max(200).optional(),
  /** default forbidden patterns the project lifts: only these, the rest (secrets, CI, lock files) always apply */
  allowDefaults: z.array(z.enum(OVERRIDABLE_FORBIDDEN_PATHS as [string, ...string[]])).optional(),
  maxFileBytes: positiveInt.optional(),
});

export const sandboxSettingsSchema = z.strictObject({
  memoryMb: positiveInt.max(64_000).optional(),
  cpus: z.number().positive().max(64).optional(),
  pids: positiveInt.max(100_000).optional(),
  workspaceMb: positiveInt.max(200_000).optional(),
  installCommand: z.string().min(1).max(2000).optional(),
  installNetwork: z.boolean().optional(),
  wallClockMinutes: positiveInt.max(1440).optional(),
});

export const notificationsSchema = z.strictObject({
  slack: z.strictObject({ webhookUrl: z.url() }).optional(),
  email: z.strictObject({ to: z.array(z.email()).min(1).max(50) }).optional(),
  whatsapp: z
    .strictObject({
      to: z
        .array(z.string().regex(/^\+[0-9]{6,15}$/, 'E.164 phone number'))
        .min(1)
        .max(50),
    })
    .optional(),
  webhook: z.strictObject({ url: z.url(), secret: z.string().min(16).max(500) }).optional(),
});

/** Where fixes are pushed: see src/domain/fix/fork.ts and the README's "Fork delivery". */
export const deliverySchema = z
  .strictObject({
    mode: z.enum(DELIVERY_MODES),
    forkOwner: z.string().regex(GITHUB_LOGIN, 'a GitHub user or organization name').optional(),
  })
  .refine((d) => d.mode === 'fork' || d.forkOwner === undefined, { path: ['forkOwner'], message: 'forkOwner applies to mode "fork" only' });

/**
 * The stored setting as delivery reads it. {} (never set) is branch mode; anything else that does
 * not parse (a row edited by hand) refuses delivery: falling back to branch mode would push agent
 * code into a repository whose owners asked for a fork.
 */
export function storedDelivery(value: unknown): DeliverySettings | { problem: string } {
  if (value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0)) return { mode: 'branch' };
  const parsed = deliverySchema.safeParse(value);
  return parsed.success ? parsed.data : { problem: `the project's delivery setting is invalid: ${parsed.error.issues[0]?.message ?? 'unreadable'}` };
}

/** Secrets are write-only: reads show that one is set, not its value. */
export function redactNotifications(value: unknown): unknown {
  const parsed = notificationsSchema.safeParse(value);
  if (!parsed.success) return value;
  const n = parsed.data;
  return {
    ...n,
    ...(n.slack ? { slack: { webhookUrl: '(set)' } } : {}),
    ...(n.webhook ? { webhook: { url: n.webhook.url, secret: '(set)' } } : {}),
  };
}
