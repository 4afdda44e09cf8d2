/**
 * Which project an inbound email belongs to, by its sender. Configuration (INTAKE_EMAIL_ROUTES)
 * until the schema has a per-project list of intake addresses/domains (see the report of #6).
 * An exact address wins over its domain; a subdomain falls back to its parent domain.
 */
import { z } from 'zod';
import { PROJECT_KEY } from '../domain/fix/ids.js';

export interface EmailRoute {
  /** `user@example.com` or `example.com` */
  match: string;
  project: string;
}

const matchSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^([^@\s,=]+@)?[a-z0-9.-]+\.[a-z]{2,}$/, 'an address or a domain');

export function parseEmailRoutes(text: string): EmailRoute[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [match, project] = entry.split('=');
      const m = matchSchema.safeParse(match);
      if (!m.success || !project || !PROJECT_KEY.test(project.trim()))
        throw new Error(`INTAKE_EMAIL_ROUTES: bad entry ${JSON.stringify(entry)} (want address-or-domain=project-key)`);
      return { match: m.data, project: project.trim() };
    });
}

export function projectForSender(routes: readonly EmailRoute[], from: string): string | undefined {
  const address = from.trim().toLowerCase();
  const exact = routes.find((r) => r.match === address);
  if (exact) return exact.project;
  let domain = address.split('@')[1];
  while (domain?.includes('.')) {
    const d = domain;
    const hit = routes.find((r) => r.match === d);
    if (hit) return hit.project;
    domain = domain.slice(domain.indexOf('.') + 1);
  }
  return undefined;
}
