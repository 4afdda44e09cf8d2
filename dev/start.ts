/**
 * `npm start`: the stack for local use until Ctrl-C — Temporal dev server (UI on 8233, SQLite in
 * .data/), the worker and the HTTP server. Without ANTHROPIC_API_KEY / GITHUB_TOKEN it wires the
 * local stand-ins (the scripted model plays the pagination fixture's fix).
 */
import { paginationScenario } from './scenarios/pagination.js';
import { startStack } from './local-stack.js';

const say = (line: string) => console.log(`[start] ${line}`);

const stack = await startStack({ script: paginationScenario, temporal: 'persistent', log: say });
say(`Temporal UI: ${stack.config.TEMPORAL_UI_URL}`);
say('Running. Ctrl-C to stop.');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  say('stopping ...');
  stack.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
