/** Builds the Express app (no listening here: see server.ts). */
import express from 'express';
import Docker from 'dockerode';
import { loadConfig } from '../config.js';
import { parseEmailRoutes } from '../intake/email-senders.js';
import { SharedRateLimiter } from '../intake/shared-rate-limit.js';
import { adminRouter } from './admin/router.js';
import { codecRouter } from './codec-routes.js';
import { codecSessions, sessionSecrets } from './codec-session.js';
import { payloadCodec, payloadKeys } from '../temporal/payload-keys.js';
import { errorHandler } from './error-handler.js';
import { authFailureLimiter } from './auth-failures.js';
import { bugsRouter } from './bugs-routes.js';
import { healthRouter } from './health-routes.js';
import { metricsRouter } from './metrics.js';
import { keepRawBody } from './intake-auth.js';
import { refuseUnstorableInput } from './storable-input.js';
import { intakeRouter, requireEmailToken } from './intake-routes.js';
import { githubWebhookRouter, type GitHubWebhookSettings } from './github-webhook-routes.js';
import type { AppDeps, IntakeOptions } from './deps.js';

export type { AppDeps, IntakeOptions } from './deps.js';

export function intakeOptionsFromEnv(): IntakeOptions {
  const c = loadConfig();
  return {
    rateLimit: { perSecond: c.INTAKE_RATE_PER_SEC, burst: c.INTAKE_RATE_BURST },
    hmacMaxSkewSeconds: c.INTAKE_HMAC_MAX_SKEW_S,
    emailToken: c.INTAKE_EMAIL_TOKEN,
    emailRoutes: parseEmailRoutes(c.INTAKE_EMAIL_ROUTES),
    emailSenderAuth: {
      required: c.INTAKE_EMAIL_SENDER_AUTH === 'required',
      authservIds: c.INTAKE_EMAIL_AUTHSERV_IDS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    emailPerSenderPerMinute: c.INTAKE_EMAIL_PER_SENDER_PER_MIN,
  };
}

export function githubWebhookSettingsFromEnv(): GitHubWebhookSettings {
  const c = loadConfig();
  return {
    secret: c.GITHUB_WEBHOOK_SECRET,
    botLogin: c.GITHUB_BOT_LOGIN,
    installationId: c.GITHUB_APP_INSTALLATION_ID,
    rounds: { maxRounds: c.GITHUB_MAX_ROUNDS_PER_PR, debounceMs: c.GITHUB_ROUND_DEBOUNCE_MS },
  };
}

/** The Web UI's origin for CORS; none (no cross-origin access) when the URL is not usable. */
function uiOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}

export function createApp(deps: AppDeps): express.Express {
  const intake = deps.intake ?? intakeOptionsFromEnv();
  const auth = { limiter: new SharedRateLimiter(deps.prisma, 'intake-key', intake.rateLimit), hmacMaxSkewSeconds: intake.hmacMaxSkewSeconds };
  const app = express();
  app.disable('x-powered-by');
  // Whose X-Forwarded-Proto/-For to believe: req.secure (the codec cookie's Secure) behind a TLS proxy.
  app.set('trust proxy', deps.trustProxy ?? loadConfig().HTTP_TRUST_PROXY);
  // First, ahead of every token check: a client past its failed-authentication limit is answered
  // 429 before any token is looked at. Probes (/livez, /readyz) need no token and stay open.
  const failures = deps.authFailures ?? { limit: loadConfig().AUTH_FAILURE_LIMIT, windowSeconds: loadConfig().AUTH_FAILURE_WINDOW_S };
  app.use(['/api', '/admin', '/codec', '/metrics'], authFailureLimiter(failures));
  // Inbound-mail providers post JSON as large as raw MIME may be (10 MB, attachments included):
  // parsed here first, so the 1 MB parser below leaves it be; only once the provider's token is
  // checked. Token-authenticated, no HMAC, so no raw copy is kept.
  app.post('/api/intake/email', requireEmailToken(intake.emailToken), express.json({ limit: '10mb' }));
  // Signed over the exact bytes, so read raw, ahead of the JSON parser below.
  app.use('/api/github', githubWebhookRouter(deps, deps.githubWebhooks ?? githubWebhookSettingsFromEnv()));
  // verify keeps the exact bytes: HMAC signatures are computed over them.
  app.use(express.json({ limit: '1mb', verify: keepRawBody }));
  app.use(refuseUnstorableInput);
  // Probes stay open (orchestrators call them) and carry no error text; the scrape needs a token.
  app.use(healthRouter({ prisma: deps.prisma, temporal: deps.temporal, docker: deps.docker ?? new Docker(), log: deps.log }));
  app.use(metricsRouter(deps, deps.metricsToken ?? loadConfig().METRICS_TOKEN));
  app.use('/api/bugs', bugsRouter(deps, auth));
  app.use(
    '/api/intake',
    intakeRouter(deps, auth, {
      token: intake.emailToken,
      routes: intake.emailRoutes,
      senderAuth: intake.emailSenderAuth ?? { required: true, authservIds: [] },
      senderLimiter: new SharedRateLimiter(deps.prisma, 'email-sender', {
        perSecond: (intake.emailPerSenderPerMinute ?? 10) / 60,
        burst: Math.max(1, Math.ceil(intake.emailPerSenderPerMinute ?? 10)),
      }),
    }),
  );
  app.use('/admin', adminRouter(deps));
  const sessions = codecSessions(sessionSecrets(payloadKeys().map((k) => k.key)), deps.codecSessionTtlSeconds ?? loadConfig().CODEC_SESSION_TTL_S);
  app.use('/codec', codecRouter({ prisma: deps.prisma, codec: payloadCodec(), sessions, uiOrigin: uiOrigin(deps.temporalUiUrl) }));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(errorHandler(deps.log));
  return app;
}
