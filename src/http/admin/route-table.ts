/**
 * The admin API's single source of truth: every route with its method, path, minimum role and
 * request schemas. The router (router.ts), the OpenAPI document (openapi.ts) and the auth tests
 * are all generated from this list, so a route cannot exist without a role or a schema.
 */
import type { z } from 'zod';
import type { AppDeps } from '../deps.js';
import type { AdminActor, Role } from './admin-tokens.js';

export type Method = 'get' | 'post' | 'patch' | 'delete';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  actor: AdminActor;
  deps: AppDeps;
  routes: readonly AdminRoute[];
}

export interface AdminRoute {
  method: Method;
  /** Express-style path under /admin, e.g. /projects/:key */
  path: string;
  role: Role;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** 200 unless given */
  status?: number;
  handle(ctx: RouteContext<unknown, unknown, unknown>): Promise<unknown>;
}

interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  path: string;
  role: Role;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  status?: number;
  handle(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

/** Types the handler from its schemas; the router parses with the same schemas before calling it. */
export function defineRoute<P extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown, B extends z.ZodType = z.ZodUnknown>(
  spec: RouteSpec<P, Q, B>,
): AdminRoute {
  return spec as unknown as AdminRoute;
}
