/**
 * What the HTTP app is built from. Its own module so that the app and its routers both import it
 * without importing each other.
 */
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config.js';
import { rootLog } from '../infra/log.js';
import type Docker from 'dockerode';
import type { PrismaClient } from '../db/prisma.js';
import type { FixDispatcher } from '../intake/fix-dispatcher.js';
import type { EmailRoute } from '../intake/email-senders.js';
import type { SenderAuthPolicy } from '../intake/sender-auth.js';
import type { TriageDispatcher } from '../intake/triage-dispatcher.js';
import type { RateLimitSettings } from '../intake/rate-limit.js';
import type { GitHubWebhookSettings } from './github-webhook-routes.js';
import type { AuthFailureSettings } from './auth-failures.js';

export interface IntakeOptions {
  rateLimit: RateLimitSettings;
  hmacMaxSkewSeconds: number;
  emailToken?: string;
  emailRoutes: readonly EmailRoute[];
  /** whose SPF/DKIM/DMARC verdict an email needs (default: required, topmost Authentication-Results) */
  emailSenderAuth?: SenderAuthPolicy;
  /** default 10 */
  emailPerSenderPerMinute?: number;
}

export interface AppDeps {
  prisma: PrismaClient;
  temporal: Client;
  temporalUiUrl: string;
  /** pino fits; `info` receives one line per filed report with its correlation ids */
  log: { error: (obj: unknown, msg: string) => void; warn?: (obj: unknown, msg: string) => void; info?: (obj: unknown, msg: string) => void };
  /** the intake's outbox: reports are answered once stored and started by it (see server.ts) */
  dispatcher?: FixDispatcher;
  /** the triage outbox: inbound messages are answered once stored and started by it (see server.ts) */
  triageDispatcher?: TriageDispatcher;
  /** how long a triage run retries before the message is FAILED; default TRIAGE_RETRY_WINDOW_MINUTES */
  triageRetryWindowMs?: number;
  /** defaults from the environment (src/config.ts) */
  intake?: IntakeOptions;
  /** GitHub webhook secret and bot login; defaults from the environment */
  githubWebhooks?: GitHubWebhookSettings;
  /** the engine /readyz checks; by default the one DOCKER_HOST (or the local socket) names */
  docker?: Docker;
  /** bearer token GET /metrics accepts besides admin tokens; defaults to METRICS_TOKEN */
  metricsToken?: string;
  /** Express `trust proxy`; default HTTP_TRUST_PROXY */
  trustProxy?: boolean | number | string;
  /** failed authentications per client address and window; default AUTH_FAILURE_LIMIT / AUTH_FAILURE_WINDOW_S */
  authFailures?: AuthFailureSettings;
  /** Web UI codec sessions, seconds; default CODEC_SESSION_TTL_S */
  codecSessionTtlSeconds?: number;
}

/** The API's dependencies as every process that serves it builds them (npm run api, the local stack). */
export function apiDeps(config: AppConfig, prisma: PrismaClient, temporal: Client): AppDeps {
  return {
    prisma,
    temporal,
    temporalUiUrl: config.TEMPORAL_UI_URL,
    log: rootLog.child({ component: 'api' }),
    trustProxy: config.HTTP_TRUST_PROXY,
    codecSessionTtlSeconds: config.CODEC_SESSION_TTL_S,
    authFailures: { limit: config.AUTH_FAILURE_LIMIT, windowSeconds: config.AUTH_FAILURE_WINDOW_S },
  };
}
