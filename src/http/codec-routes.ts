/**
 * The remote codec endpoint the Temporal Web UI (and `temporal --codec-endpoint`) calls to show
 * encrypted payloads decoded: POST /codec/decode and /codec/encode with the Temporal JSON shape
 * `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`. Authenticated with an admin token
 * (viewer is enough); CORS allows the Web UI's origin only.
 */
import { Router, type Request, type Response, type NextFunction } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { PrismaClient } from '../db/prisma.js';
import { authenticateAdmin } from './admin/admin-tokens.js';
import { HttpError } from './errors.js';

const jsonPayloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })).max(1000),
});
type JsonPayload = z.infer<typeof jsonPayloads>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export function codecRouter(deps: { prisma: PrismaClient; codec: PayloadCodec; uiOrigin: string }): Router {
  const router = Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    res.setHeader('access-control-allow-origin', deps.uiOrigin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'content-type, authorization, x-namespace');
    res.setHeader('vary', 'origin');
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  });
  router.use(async (req: Request, _res: Response, next: NextFunction) => {
    const auth = req.header('authorization') ?? '';
    const token = auth.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : '';
    if (!token || !(await authenticateAdmin(deps.prisma, token))) return next(new HttpError(401, 'the codec endpoint needs an admin token (viewer or above)'));
    next();
  });
  for (const op of ['encode', 'decode'] as const) {
    router.post(`/${op}`, async (req, res) => {
      const { payloads } = jsonPayloads.parse(req.body);
      const out = await deps.codec[op](payloads.map(fromJson)).catch((err: unknown) => {
        throw new HttpError(400, `cannot ${op}: ${err instanceof Error ? err.message : String(err)}`);
      });
      res.json({ payloads: out.map(toJson) });
    });
  }
  return router;
}
