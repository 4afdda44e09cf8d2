/** Builds the Express app (no listening here: see server.ts). */
import express from 'express';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../config.js';
import type { PrismaClient } from '../db/prisma.js';
import { parseEmailRoutes, type EmailRoute } from '../intake/email-routes.js';
import { RateLimiter, type RateLimitSettings } from '../intake/rate-limit.js';
import { adminRouter } from './admin/router.js';
import { errorHandler } from './errors.js';
import { bugsRouter } from './bugs-routes.js';
import { keepRawBody } from './intake-auth.js';
import { intakeRouter } from './intake-routes.js';

export interface IntakeOptions {
  rateLimit: RateLimitSettings;
  hmacMaxSkewSeconds: number;
  emailToken?: string;
  emailRoutes: readonly EmailRoute[];
}

export interface AppDeps {
  prisma: PrismaClient;
  temporal: Client;
  temporalUiUrl: string;
  log: { error: (obj: unknown, msg: string) => void };
  /** defaults from the environment (src/config.ts) */
  intake?: IntakeOptions;
}

export function intakeOptionsFromEnv(): IntakeOptions {
  const c = loadConfig();
  return {
    rateLimit: { perSecond: c.INTAKE_RATE_PER_SEC, burst: c.INTAKE_RATE_BURST },
    hmacMaxSkewSeconds: c.INTAKE_HMAC_MAX_SKEW_S,
    emailToken: c.INTAKE_EMAIL_TOKEN,
    emailRoutes: parseEmailRoutes(c.INTAKE_EMAIL_ROUTES),
  };
}

export function createApp(deps: AppDeps): express.Express {
  const intake = deps.intake ?? intakeOptionsFromEnv();
  const auth = { limiter: new RateLimiter(intake.rateLimit), hmacMaxSkewSeconds: intake.hmacMaxSkewSeconds };
  const app = express();
  app.disable('x-powered-by');
  // verify keeps the exact bytes: HMAC signatures are computed over them.
  app.use(express.json({ limit: '1mb', verify: keepRawBody }));
  app.get('/livez', (_req, res) => void res.json({ ok: true }));
  app.use('/api/bugs', bugsRouter(deps, auth));
  app.use('/api/intake', intakeRouter(deps, auth, { token: intake.emailToken, routes: intake.emailRoutes }));
  app.use('/admin', adminRouter(deps));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(errorHandler(deps.log));
  return app;
}
