import { z } from 'zod';

/** An on/off switch from the environment; unset means off. */
const envSwitch = z.coerce.boolean().default(false);

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
  CURRENCY: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code such as EUR')
    .transform((code) => code.toUpperCase())
    .default('EUR'),
  CART_MAX_ITEMS: z.coerce.number().int().positive().default(50),
  FEATURE_NEW_CHECKOUT: envSwitch,
  FEATURE_GIFT_CARDS: envSwitch,
  MAINTENANCE_MODE: envSwitch,
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the configuration from environment variables; throws a ConfigError naming each bad one. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}
