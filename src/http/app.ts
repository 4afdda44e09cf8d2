/** Builds the Express app (no listening here: see server.ts). */
import express from 'express';
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../db/prisma.js';
import { errorHandler } from './errors.js';
import { bugsRouter } from './bugs-routes.js';

export interface AppDeps {
  prisma: PrismaClient;
  temporal: Client;
  temporalUiUrl: string;
  log: { error: (obj: unknown, msg: string) => void };
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.get('/livez', (_req, res) => void res.json({ ok: true }));
  app.use('/api/bugs', bugsRouter(deps));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(errorHandler(deps.log));
  return app;
}
