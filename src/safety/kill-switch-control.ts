/**
 * Kill-switch commands shared by the admin API and the CLI: parse the request, check that a
 * project scope names a real project, then talk to the controller (kill-switch-client.ts).
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { isKillSwitchScope, MAX_REASON_LENGTH, scopeProject, type KillSwitch, type KillSwitchScope } from '../domain/organisation/kill-switch.js';
import { isBudgetScope } from '../domain/organisation/org-budget.js';
import type { PrismaClient } from '../db/prisma.js';
import { FixError } from '../fixes/fix-errors.js';
import type { ActivationResult } from '../../workflows/safety-messages.js';
import { activateKillSwitch, deactivateKillSwitch } from './kill-switch-client.js';

export const killSwitchSchema = z.object({
  scope: z.string().trim().refine(isKillSwitchScope, 'global, project:<key>, budget or budget:<key>'),
  reason: z.string().trim().min(1).max(MAX_REASON_LENGTH),
});
export type KillSwitchBody = z.infer<typeof killSwitchSchema>;

/**
 * Pressing, by a person: not `budget` or `budget:<key>`. An activation replaces the switch with
 * its actor, so a person's press would make the budget evaluator lift that person's stop, or
 * never lift its own. People may still lift a budget switch (an approved overspend).
 */
export const killSwitchOnSchema = killSwitchSchema.refine((b) => !isBudgetScope(b.scope), {
  path: ['scope'],
  message: 'budget and budget:<key> are pressed only by the budget evaluator; use global or project:<key> for your own stop',
});

export interface KillSwitchDeps {
  prisma: PrismaClient;
  temporal: Client;
}

export async function switchOn(deps: KillSwitchDeps, taskQueue: string, body: KillSwitchBody, actor: string): Promise<ActivationResult> {
  // Here too, whichever schema the caller parsed with (the CLI parses one for on and off).
  killSwitchOnSchema.parse(body);
  const project = scopeProject(body.scope as KillSwitchScope);
  // A typo in a project key would otherwise be a switch that stops nothing while looking active.
  if (project && !(await deps.prisma.project.findUnique({ where: { key: project }, select: { id: true } }))) {
    throw new FixError('not-found', `no project ${project}`);
  }
  return activateKillSwitch(deps, taskQueue, { scope: body.scope, reason: body.reason, actor });
}

/** No project check here: a switch on a project deleted since must still be liftable. */
export function switchOff(deps: KillSwitchDeps, taskQueue: string, body: KillSwitchBody, actor: string): Promise<KillSwitch> {
  return deactivateKillSwitch(deps, taskQueue, { scope: body.scope, reason: body.reason, actor });
}
