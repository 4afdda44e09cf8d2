/**
 * Product configuration, parsed once from the environment with a schema so that a wrong value
 * fails at start-up with the variable's name. Base URLs of third-party services are settings:
 * the demo and the tests point them at local stand-ins, production leaves the defaults.
 */
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

export const DEFAULT_DATABASE_URL = 'postgresql://bugfix:bugfix@127.0.0.1:5432/bugfix';
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const splitList = (v: string) =>
  v
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);

const schema = z.object({
  DATABASE_URL: z.string().url().default(DEFAULT_DATABASE_URL),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: optionalString,
  AGENT_MODEL: z.string().default('claude-sonnet-5-5'),
  // A whole-file write_file must fit in one reply: 4096 tokens is only a few hundred lines of code.
  // Non-streaming, the SDK refuses more than about 21,000 (it expects those to take over 10 minutes).
  AGENT_MAX_TOKENS: z.coerce.number().int().positive().default(16384),
  /** AGENT_MODEL's context window (Claude's standard window is 200K tokens) */
  AGENT_CONTEXT_WINDOW_TOKENS: z.coerce.number().int().min(1000).default(200_000),
  /** a fix's older turns are summarised when its next prompt would reach this share of the window */
  CONDENSE_AT_SHARE: z.coerce.number().gt(0).max(0.9).default(0.5),
  GITHUB_TOKEN: optionalString,
  GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  /**
   * Transports host git may use to reach a project's remote (git's own variable, colon-separated)
   * and that a project's cloneUrl may name. Local runs over local bare repositories add `file`.
   */
  GIT_ALLOW_PROTOCOL: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*(:[a-z][a-z0-9+.-]*)*$/, 'colon-separated transports, e.g. https or file:https')
    .default('https'),
  /** author and committer of every pushed fix: the agent's own commits are squashed away */
  COMMIT_AUTHOR_NAME: z.string().min(1).max(200).default('bugfix-service'),
  COMMIT_AUTHOR_EMAIL: z.email().default('bugfix-service@noreply.invalid'),
  GITHUB_APP_ID: optionalString,
  GITHUB_APP_PRIVATE_KEY: optionalString,
  GITHUB_APP_PRIVATE_KEY_FILE: optionalString,
  /** secret of the repository's or GitHub App's webhook (X-Hub-Signature-256); unset: POST /api/github/webhook answers 503 */
  GITHUB_WEBHOOK_SECRET: optionalString,
  /** the bot's login: its own events never trigger, assigning it or @mentioning it does */
  GITHUB_BOT_LOGIN: z.string().default('bugfix-bot'),
  GITHUB_APP_INSTALLATION_ID: z.coerce.number().int().positive().optional(),
  /** follow-up rounds one pull request may get (a project's github.maxRoundsPerPr wins) */
  GITHUB_MAX_ROUNDS_PER_PR: z.coerce.number().int().min(0).default(5),
  /** dollars one pull request may cost in all: its fix and every follow-up round (a project's github.maxCostUsdPerPr wins) */
  GITHUB_MAX_COST_USD_PER_PR: z.coerce.number().positive().default(20),
  /** quiet time after the last review event before a round starts: a review's inline comments make one round */
  GITHUB_ROUND_DEBOUNCE_MS: z.coerce.number().int().min(100).default(20_000),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /**
   * Express's `trust proxy`: which proxies' X-Forwarded-* to believe (behind a TLS-terminating
   * proxy, so the codec cookie gets `Secure`). Unset/false: none; true; a hop count; or
   * addresses/subnets/`loopback`, comma-separated.
   */
  HTTP_TRUST_PROXY: optionalString.transform((v): boolean | number | string =>
    v === undefined || v === 'false' ? false : v === 'true' ? true : /^\d+$/.test(v) ? Number(v) : v,
  ),
  /**
   * Failed authentications (401s: intake keys, admin tokens, codec sign-in, /metrics, inbound-mail
   * token) one client address (req.ip) may make per window before it gets 429 without its token
   * being checked. In memory per API process.
   */
  AUTH_FAILURE_LIMIT: z.coerce.number().int().positive().default(20),
  AUTH_FAILURE_WINDOW_S: z.coerce.number().int().positive().default(300),
  /** how long a Web UI sign-in at /codec/login lasts (a codec-only session), seconds */
  CODEC_SESSION_TTL_S: z.coerce.number().int().min(60).max(86_400).default(3600),
  PUBLIC_BASE_URL: optionalString,
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
  SANDBOX_IMAGE: z.string().default('bugfix-sandbox:latest'),
  /** Docker network a project's install step may use when it sets installNetwork; unset = never */
  SANDBOX_INSTALL_NETWORK: optionalString,
  WORK_DIR: z.string().default(path.join(PROJECT_ROOT, '.data', 'work')),
  /**
   * PEM bundle an environment's setup trusts for TLS (mounted read-only into the setup container).
   * Default: the host's own bundle, which holds any gateway or corporate CA the host trusts.
   */
  SANDBOX_CA_BUNDLE: z.string().default('/etc/ssl/certs/ca-certificates.crt'),
  /**
   * Kernel isolation of sandbox containers (src/sandbox/security-profile.ts): the seccomp profile
   * file (default docker/seccomp-sandbox.json), an AppArmor profile name where the host has
   * AppArmor (unset: the engine's default), and an OCI runtime the engine knows, e.g. `runsc` for
   * gVisor (unset: the engine's default, runc).
   */
  SANDBOX_SECCOMP_PROFILE: z.string().default(path.join(PROJECT_ROOT, 'docker', 'seccomp-sandbox.json')),
  SANDBOX_APPARMOR_PROFILE: optionalString,
  SANDBOX_RUNTIME: optionalString,
  /** Prepared environment images kept per host (their own layers), least recently used evicted beyond */
  ENVIRONMENT_CACHE_MB: z.coerce.number().int().positive().default(20_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** model that decides whether an email/chat message is a bug report and extracts it */
  TRIAGE_MODEL: z.string().default('claude-haiku-4-5'),
  SMTP_URL: optionalString,
  EMAIL_FROM: z.string().default('Bugfix <bugfix@localhost>'),
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_WHATSAPP_FROM: optionalString,
  TWILIO_API_URL: optionalString,
  /** per intake key: sustained requests per second and burst (token bucket, in memory per process) */
  INTAKE_RATE_PER_SEC: z.coerce.number().positive().default(10),
  INTAKE_RATE_BURST: z.coerce.number().int().positive().default(60),
  /** Fix workflows the intake outbox starts at once: low, so a burst of reports is answered first and started right after. */
  INTAKE_START_CONCURRENCY: z.coerce.number().int().positive().default(4),
  /** Fix workflows the intake outbox starts per second at most (0: no limit). */
  INTAKE_START_RATE_PER_S: z.coerce.number().nonnegative().default(0),
  /** HMAC-signed intake: how far the signed timestamp may be from now, seconds */
  INTAKE_HMAC_MAX_SKEW_S: z.coerce.number().int().positive().default(300),
  /** shared secret inbound-mail providers send (Authorization: Bearer only) to POST /api/intake/email; unset = disabled */
  INTAKE_EMAIL_TOKEN: optionalString,
  /**
   * required: an email is taken only when the mail provider authenticated its From domain (DMARC
   * pass, or SPF/DKIM pass aligned with it; src/intake/sender-auth.ts). off: the From header
   * alone picks the project, for a provider that already drops unauthenticated mail.
   */
  INTAKE_EMAIL_SENDER_AUTH: z.enum(['required', 'off']).default('required'),
  /** authserv-ids (the provider's MX) whose Authentication-Results are trusted, comma-separated; empty: the topmost header only */
  INTAKE_EMAIL_AUTHSERV_IDS: z.string().default(''),
  /** emails per sender address and minute (token bucket, in memory per process; the burst is the same number) */
  INTAKE_EMAIL_PER_SENDER_PER_MIN: z.coerce.number().positive().default(10),
  /** how long a message's triage keeps retrying (model outage, kill switch, budget) before it is FAILED and alerted on */
  TRIAGE_RETRY_WINDOW_MINUTES: z.coerce.number().positive().default(720),
  /** sender → project, comma-separated: `example.com=shop,ops@acme.io=api` (exact address wins over domain) */
  INTAKE_EMAIL_ROUTES: z.string().default(''),
  /**
   * Notification and alert URLs (Slack, webhooks, PagerDuty) may use plain http too, not only
   * https. Off in production; the local stack and the tests turn it on for their stand-ins.
   */
  NOTIFY_ALLOW_HTTP: z.enum(['true', 'false']).default('false'),
  /**
   * Non-public networks notifications and alerts may still be sent to, comma-separated CIDRs or
   * addresses (`127.0.0.1`, `10.20.0.0/16`); empty: public addresses only (no SSRF into the
   * service's own network). The local stack and the tests allow their stand-ins on 127.0.0.1.
   */
  NOTIFY_ALLOW_NETWORKS: z
    .string()
    .default('')
    .refine((v) => splitList(v).every((e) => (e.includes('/') ? ipaddr.isValidCIDR(e) : ipaddr.isValid(e))), 'comma-separated CIDRs or IP addresses'),
  /** bearer token Prometheus sends to GET /metrics (an admin token is accepted too); unset = admin tokens only */
  METRICS_TOKEN: optionalString,
  // Organisation alerts (budget crossings and alert rules, issue #7): channels, then rule thresholds.
  ALERT_SLACK_WEBHOOK_URL: optionalString.pipe(z.string().url().optional()),
  /** comma-separated addresses; sent through SMTP_URL */
  ALERT_EMAIL_TO: optionalString,
  ALERT_WEBHOOK_URL: optionalString.pipe(z.string().url().optional()),
  ALERT_WEBHOOK_SECRET: optionalString,
  PAGERDUTY_ROUTING_KEY: optionalString,
  PAGERDUTY_EVENTS_URL: z.string().url().default('https://events.pagerduty.com/v2/enqueue'),
  ALERT_PAGERDUTY_MIN_SEVERITY: z.enum(['info', 'warning', 'critical']).default('critical'),
  ALERT_FAILURE_RATE_PCT: z.coerce.number().min(0).max(100).default(50),
  ALERT_FAILURE_WINDOW_MINUTES: z.coerce.number().positive().default(60),
  ALERT_FAILURE_MIN_FIXES: z.coerce.number().int().min(1).default(3),
  ALERT_QUEUE_BACKUP_MINUTES: z.coerce.number().positive().default(15),
  ALERT_QUEUE_BACKUP_MIN_FIXES: z.coerce.number().int().min(1).default(1),
  ALERT_TOKENS_PER_FIX: z.coerce.number().positive().default(100_000),
  ALERT_TOKENS_WINDOW_MINUTES: z.coerce.number().positive().default(60),
  ALERT_DAILY_SPEND_USD: z.coerce.number().min(0).default(100),
  ALERT_DEDUPE_WINDOW_MINUTES: z.coerce.number().positive().default(30),
  /** how often the alert Schedule evaluates budgets and rules */
  ALERT_EVALUATE_EVERY_S: z.coerce.number().int().min(10).default(60),
});

export type AppConfig = z.infer<typeof schema>;

/**
 * GitHub's web (clone) origin for its API URL: https://api.github.com → https://github.com (and
 * api.<name>.ghe.com → <name>.ghe.com); GitHub Enterprise Server serves its API under /api/v3 of
 * the web host itself. Host git offers the GitHub credential to this origin only.
 */
export function githubWebUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.pathname.replace(/\/+$/, '') === '' && url.hostname.startsWith('api.')) url.hostname = url.hostname.slice('api.'.length);
  return url.origin;
}

/** Where notifications and alerts may be sent (src/infra/outbound-http.ts). */
export function outboundPolicyFrom(c: AppConfig): { allowHttp: boolean; allowNetworks: string[] } {
  return { allowHttp: c.NOTIFY_ALLOW_HTTP === 'true', allowNetworks: splitList(c.NOTIFY_ALLOW_NETWORKS) };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}
