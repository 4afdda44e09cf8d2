/**
 * Admin routes: the kill switches. Operators may press one (stopping work is always safe to
 * allow); lifting one needs an admin, as does lifting a budget stop in issue #7.
 */
import { readSafetyState } from '../../safety/kill-switch-client.js';
import { killSwitchOnSchema, killSwitchSchema, switchOff, switchOn } from '../../safety/kill-switch-control.js';
import { taskQueues } from '../../../temporal.config.js';
import { defineRoute } from './route-table.js';

/** Listing is for people: a worker answering slowly should not make it fail, the memo answers then. */
const LIST_DEADLINE_MS = 3000;

export const safetyRoutes = [
  defineRoute({
    method: 'get',
    path: '/kill-switches',
    role: 'VIEWER',
    tag: 'safety',
    summary: "Active kill switches and the controller's counters",
    handle: async ({ deps }) => readSafetyState(deps, taskQueues.main, LIST_DEADLINE_MS),
  }),
  defineRoute({
    method: 'post',
    path: '/kill-switches',
    role: 'OPERATOR',
    tag: 'safety',
    body: killSwitchOnSchema,
    summary: "Activate a kill switch (global, project:<key>; budget scopes are the budget evaluator's): kills every running fix in scope and refuses new ones",
    handle: async ({ deps, body, actor }) => switchOn(deps, taskQueues.main, body, `admin:${actor.name}`),
  }),
  defineRoute({
    method: 'post',
    path: '/kill-switches/deactivate',
    role: 'ADMIN',
    tag: 'safety',
    body: killSwitchSchema,
    summary: 'Lift an active kill switch, a budget one included: new fixes in scope are accepted again',
    handle: async ({ deps, body, actor }) => ({ lifted: await switchOff(deps, taskQueues.main, body, `admin:${actor.name}`) }),
  }),
];
