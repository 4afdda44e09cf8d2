/**
 * Kill switches: which fixes a switch covers, what a valid request is, and the id of the safety
 * controller that holds them. Pure rules shared by the controller workflow, its activities, the
 * intake, the admin API and the CLI.
 */
import { PROJECT_KEY } from '../fix/ids.js';

/**
 * `global` covers every fix; `project:<key>` one project's fixes. `budget` and `budget:<key>` are
 * the same coverage set apart for organisation budgets (issue #7, item 2), so lifting an
 * operator's switch never lifts a budget stop and the reverse.
 */
export type KillSwitchScope = 'global' | 'budget' | `project:${string}` | `budget:${string}`;

export interface KillSwitchRequest {
  scope: string;
  reason: string;
  actor: string;
}

export interface KillSwitch {
  scope: KillSwitchScope;
  reason: string;
  actor: string;
  /** ISO time of the (latest) activation */
  activatedAt: string;
}

export const MAX_REASON_LENGTH = 1000;

/** The project a scope is limited to, or null when it covers every project. */
export function scopeProject(scope: KillSwitchScope): string | null {
  const m = /^(?:project|budget):(.+)$/.exec(scope);
  return m ? m[1]! : null;
}

export function isKillSwitchScope(scope: string): scope is KillSwitchScope {
  if (scope === 'global' || scope === 'budget') return true;
  const m = /^(?:project|budget):(.+)$/.exec(scope);
  return m !== null && PROJECT_KEY.test(m[1]!);
}

export function projectScope(projectKey: string | undefined): KillSwitchScope {
  return projectKey ? `project:${projectKey}` : 'global';
}

export function covers(scope: KillSwitchScope, projectKey: string): boolean {
  const limited = scopeProject(scope);
  return limited === null || limited === projectKey;
}

/** Throws with a readable message: used as the controller's update validator. */
export function validateKillSwitchRequest(req: KillSwitchRequest): void {
  if (typeof req?.scope !== 'string' || !isKillSwitchScope(req.scope)) {
    throw new Error(`invalid scope ${JSON.stringify(req?.scope)}: use global, project:<key>, budget or budget:<key>`);
  }
  if (typeof req.reason !== 'string' || req.reason.trim() === '') throw new Error('a kill switch needs a reason');
  if (req.reason.length > MAX_REASON_LENGTH) throw new Error(`the reason is longer than ${MAX_REASON_LENGTH} characters`);
  if (typeof req.actor !== 'string' || req.actor.trim() === '') throw new Error('a kill switch needs an actor (who pressed it)');
}

/** The first active switch that covers a project's new fixes, if any. */
export function blockingSwitch(switches: readonly KillSwitch[], projectKey: string): KillSwitch | undefined {
  return switches.find((s) => covers(s.scope, projectKey));
}

export function refusalReason(s: KillSwitch): string {
  return `kill switch ${s.scope} is active (by ${s.actor}): ${s.reason}`;
}

/**
 * One controller per namespace and shared task queue (one deployment): the id is fixed for a
 * deployment. The colon keeps it apart from every fix id (fixWorkflowId allows no colon).
 */
export function safetyControllerId(taskQueue: string): string {
  return `${taskQueue}:safety-controller`;
}
