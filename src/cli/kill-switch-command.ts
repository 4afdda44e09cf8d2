/**
 * `bugfix kill-switch on|off [--project P] --reason R` and `bugfix kill-switch status`: the big red
 * button from a terminal. Without --project (or --scope) a switch is global.
 */
import type { Command } from 'commander';
import { projectScope } from '../domain/organisation/kill-switch.js';
import { readSafetyState } from '../safety/kill-switch-client.js';
import { killSwitchSchema, switchOff, switchOn } from '../safety/kill-switch-control.js';
import { taskQueues } from '../../temporal.config.js';
import type { CliContext } from './cli-context.js';
import { table } from './format.js';

interface Out {
  print(text: string): void;
  json(value: unknown): void;
}

interface ScopeOptions {
  project?: string;
  scope?: string;
  reason: string;
}

const body = (o: ScopeOptions) => killSwitchSchema.parse({ scope: o.scope ?? projectScope(o.project), reason: o.reason });

export function addKillSwitchCommand(program: Command, ctx: CliContext, out: Out): void {
  const ks = program.command('kill-switch').description('stop every running fix in a scope and refuse new ones (on), lift it (off), or list (status)');
  const scoped = (name: string, description: string) =>
    ks
      .command(name)
      .description(description)
      .option('--project <key>', "only this project's fixes (default: every fix)")
      .option('--scope <scope>', 'an explicit scope: global, project:<key>; budget, budget:<key> only to lift (the budget evaluator presses them)')
      .requiredOption('--reason <text>', 'why (recorded with your name)');

  scoped('on', 'activate: kills running fixes in scope, refuses new ones').action(async (o: ScopeOptions) => {
    const r = await switchOn(await ctx.deps(), taskQueues.main, body(o), ctx.actor);
    out.print(
      `kill switch ${r.switch.scope} active${r.alreadyActive ? ' (was already)' : ''}: kill sent to ${r.signalled.length} running fix(es)${r.fanOutError ? `; fan-out failed, the controller retries: ${r.fanOutError}` : ''}`,
    );
    for (const id of r.signalled) out.print(`  ${id}`);
  });

  scoped('off', 'lift an active switch: new fixes in scope are accepted again').action(async (o: ScopeOptions) => {
    const lifted = await switchOff(await ctx.deps(), taskQueues.main, body(o), ctx.actor);
    out.print(`kill switch ${lifted.scope} lifted (it was activated by ${lifted.actor} at ${lifted.activatedAt}: ${lifted.reason})`);
  });

  ks.command('status')
    .description('the active kill switches')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const state = await readSafetyState(await ctx.deps(), taskQueues.main, 3000);
      if (o.json) return out.json(state);
      if (state.switches.length === 0) return out.print('no kill switch is active');
      out.print(table([['SCOPE', 'BY', 'SINCE', 'REASON'], ...state.switches.map((s) => [s.scope, s.actor, s.activatedAt, s.reason])]));
    });
}
