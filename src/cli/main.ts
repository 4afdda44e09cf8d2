/**
 * `bugfix`: steer fixes from a terminal. Talks to Temporal directly (temporal.config.ts) and to
 * PostgreSQL for bug-id lookups and costs. <bug> is a bug id or a workflow id.
 * Any failure is one line on stderr and a non-zero exit code.
 */
import { Command, Option } from 'commander';
import { costQuerySchema, costReport } from '../costs/cost-report.js';
import { alertView } from '../alerts/alert-store.js';
import { cancelSchema, controlFix, hintSchema, raiseBudgetSchema, type FixAction } from '../fixes/fix-control.js';
import { fixDetail } from '../fixes/fix-detail.js';
import { FixError } from '../fixes/fix-errors.js';
import { fixFiltersSchema, listFixes } from '../fixes/fix-queries.js';
import { CliContext, firstLine } from './cli-context.js';
import { statusText, table } from './format.js';
import { watchFix } from './watch.js';
import { addKillSwitchCommand } from './kill-switch-command.js';
import { ZodError } from 'zod';

const ctx = new CliContext();
const print = (text: string) => void process.stdout.write(`${text}\n`);
const json = (value: unknown) => print(JSON.stringify(value, null, 2));

async function act(ref: string, action: FixAction, done: string): Promise<void> {
  const r = await controlFix(await ctx.deps(), ref, action, ctx.actor);
  print(
    `${done}: ${r.workflowId}${r.budgets ? ` — budgets now iterations ${r.budgets.maxIterations}, tokens ${r.budgets.maxTokens}, cost $${r.budgets.maxCostUsd}` : ''}`,
  );
}

const program = new Command('bugfix').description('Steer bug fixes running on Temporal. <bug> is a bug id or a workflow id.').showHelpAfterError();

program
  .command('status <bug>')
  .description('phase, iteration, cost, budgets and PR of a fix')
  .option('--json', 'machine-readable output')
  .action(async (bug: string, o: { json?: boolean }) => {
    const d = await fixDetail(await ctx.deps(), bug);
    if (o.json) json(d);
    else print(statusText(d.fix, d.status, d.pr, d.retrying));
  });

program
  .command('list')
  .description('fixes from Temporal visibility, newest first')
  .addOption(new Option('--status <status>', 'workflow status').choices(['running', 'completed', 'failed', 'canceled', 'terminated', 'timed_out']))
  .option('--project <key>', 'project key')
  .option('--phase <phase>', 'current phase')
  .option('--since <date>', 'started at or after (ISO date or time)')
  .option('--limit <n>', 'at most this many', '50')
  .option('--json', 'machine-readable output')
  .action(async (o: Record<string, string | boolean | undefined>) => {
    const fixes = await listFixes(
      await ctx.temporal(),
      fixFiltersSchema.parse({ status: o.status, project: o.project, phase: o.phase, since: o.since, limit: o.limit }),
    );
    if (o.json) return json(fixes);
    if (fixes.length === 0) return print('no fixes');
    print(
      table([
        ['WORKFLOW', 'STATUS', 'PHASE', 'ITER', 'COST', 'STARTED'],
        ...fixes.map((f) => [
          f.workflowId,
          f.status,
          f.phase ?? '-',
          String(f.iteration ?? '-'),
          f.costUsd === null ? '-' : `$${f.costUsd.toFixed(4)}`,
          f.startTime,
        ]),
      ]),
    );
  });

program
  .command('watch <bug>')
  .description('live progress until the fix ends')
  .option('--interval <ms>', 'refresh interval', '1000')
  .action(async (bug: string, o: { interval: string }) => watchFix(await ctx.deps(), bug, process.stdout, Math.max(200, Number(o.interval) || 1000)));

program
  .command('pause <bug>')
  .description('pause before the next iteration')
  .action((bug: string) => act(bug, { kind: 'pause' }, 'paused'));
program
  .command('resume <bug>')
  .description('resume a paused fix')
  .action((bug: string) => act(bug, { kind: 'resume' }, 'resumed'));
program
  .command('cancel <bug>')
  .description('stop a fix (it cleans up and records why)')
  .option('--reason <text>', 'why')
  .action((bug: string, o: { reason?: string }) => act(bug, { kind: 'cancel', reason: cancelSchema.parse({ reason: o.reason }).reason }, 'cancel requested'));
program
  .command('hint <bug> <text...>')
  .description("a hint for the model's next turn")
  .action((bug: string, words: string[]) => act(bug, { kind: 'hint', text: hintSchema.parse({ text: words.join(' ') }).text }, 'hint sent'));
program
  .command('budget <bug>')
  .description("raise a running fix's budgets")
  .option('--usd <amount>', 'max cost in USD')
  .option('--tokens <n>', 'max tokens')
  .option('--iterations <n>', 'max iterations')
  // Whoever runs the CLI holds Temporal credentials (admin-equivalent): the flag says so on purpose.
  .option('--above-ceiling', "go beyond the project's ceiling for operators (budgets.operatorMax, else its budgets)")
  .action((bug: string, o: { usd?: string; tokens?: string; iterations?: string; aboveCeiling?: boolean }) => {
    const num = (v?: string) => (v === undefined ? undefined : Number(v));
    const budgets = raiseBudgetSchema.parse({ maxCostUsd: num(o.usd), maxTokens: num(o.tokens), maxIterations: num(o.iterations) });
    return act(bug, { kind: 'raise-budget', budgets, aboveCeiling: o.aboveCeiling === true }, 'budget raised');
  });

program
  .command('costs')
  .description('model costs from the ledger')
  .addOption(new Option('--by <group>', 'group by').choices(['day', 'model', 'project']).default('day'))
  .option('--since <date>', 'from (ISO date or time)')
  .option('--project <key>', 'only this project')
  .option('--json', 'machine-readable output')
  .action(async (o: { by: string; since?: string; project?: string; json?: boolean }) => {
    const r = await costReport(ctx.prisma(), costQuerySchema.parse({ by: o.by, since: o.since, project: o.project }));
    if (o.json) return json(r);
    print(
      table([
        [o.by.toUpperCase(), 'CALLS', 'INPUT', 'OUTPUT', 'COST USD'],
        ...r.rows.map((x) => [x.group, String(x.calls), String(x.inputTokens), String(x.outputTokens), x.costUsd]),
        ['total', '', '', '', r.totalUsd],
      ]),
    );
  });

program
  .command('alerts')
  .description('organisation alerts (budget crossings, alert rules), newest first')
  .addOption(new Option('--status <status>', 'which').choices(['active', 'resolved']).default('active'))
  .option('--limit <n>', 'at most', '50')
  .option('--json', 'machine-readable output')
  .action(async (o: { status: 'active' | 'resolved'; limit: string; json?: boolean }) => {
    const rows = await ctx.prisma().alert.findMany({
      where: { status: o.status === 'active' ? 'ACTIVE' : 'RESOLVED' },
      orderBy: { createdAt: 'desc' },
      take: Math.max(1, Number(o.limit) || 50),
    });
    if (o.json) return json(rows.map(alertView));
    print(
      table([
        ['SINCE', 'SEVERITY', 'RULE', 'SEEN', 'SUMMARY'],
        ...rows.map((a) => [a.createdAt.toISOString().slice(0, 16), a.severity, a.rule, String(a.seenCount), a.summary.slice(0, 100)]),
      ]),
    );
  });

addKillSwitchCommand(program, ctx, { print, json });

function errorLine(err: unknown): string {
  if (err instanceof ZodError) return `invalid input: ${err.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`;
  if (err instanceof FixError) return err.message;
  const msg = firstLine(err);
  // Prisma's connection errors are long; the first line names the problem.
  return /Can't reach database|ECONNREFUSED/.test(msg) ? `cannot reach the database: ${msg}` : msg;
}

program.parseAsync(process.argv).then(
  async () => {
    await ctx.close();
    process.exit(0);
  },
  async (err: unknown) => {
    process.stderr.write(`bugfix: ${errorLine(err)}\n`);
    await ctx.close();
    process.exit(err instanceof FixError && err.kind === 'unavailable' ? 2 : 1);
  },
);
