/**
 * /admin: one bearer-token check in front of everything (so even an unknown path needs a token),
 * then each route of the table with its role check and schema parsing.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { FixError, FIX_ERROR_HTTP_STATUS } from '../../fixes/fix-errors.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../error-handler.js';
import { authenticateAdmin, roleAtLeast, type AdminActor, type Role } from './admin-tokens.js';
import { alertRoutes } from './alerts-routes.js';
import { fixRoutes } from './fixes-routes.js';
import { inboundRoutes } from './inbound-routes.js';
import { miscRoutes } from './misc-routes.js';
import { projectRoutes } from './projects-routes.js';
import { safetyRoutes } from './safety-routes.js';
import type { AdminRoute } from './route-table.js';

export const adminRoutes: readonly AdminRoute[] = [...projectRoutes, ...fixRoutes, ...safetyRoutes, ...alertRoutes, ...inboundRoutes, ...miscRoutes];

function requireToken(deps: AppDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const auth = req.header('authorization');
    if (!auth?.toLowerCase().startsWith('bearer ')) throw new HttpError(401, 'missing admin token: send Authorization: Bearer <admin token>');
    const actor = await authenticateAdmin(deps.prisma, auth.slice(7).trim());
    if (!actor) throw new HttpError(401, 'unknown or revoked admin token');
    res.locals.admin = actor;
    next();
  };
}

function requireRole(role: Role) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const actor = res.locals.admin as AdminActor;
    if (!roleAtLeast(actor.role, role)) throw new HttpError(403, `this needs the ${role.toLowerCase()} role; the token has ${actor.role.toLowerCase()}`);
    next();
  };
}

export function adminRouter(deps: AppDeps): Router {
  const router = Router();
  router.use(requireToken(deps));
  for (const route of adminRoutes) {
    router[route.method](route.path, requireRole(route.role), async (req: Request, res: Response) => {
      const ctx = {
        params: route.params ? route.params.parse(req.params) : req.params,
        query: route.query ? route.query.parse(req.query) : {},
        body: route.body ? route.body.parse(req.body ?? {}) : undefined,
        actor: res.locals.admin as AdminActor,
        deps,
        routes: adminRoutes,
      };
      try {
        res.status(route.status ?? 200).json(await route.handle(ctx));
      } catch (err) {
        if (err instanceof FixError) throw new HttpError(FIX_ERROR_HTTP_STATUS[err.kind], err.message);
        throw err;
      }
    });
  }
  router.use((_req, res) => void res.status(404).json({ error: 'no such admin route' }));
  return router;
}
