/**
 * `npm start`: the stack for local use until Ctrl-C — Temporal dev server (UI on 8233, SQLite in
 * .data/), the worker and the HTTP server. Without ANTHROPIC_API_KEY / GITHUB_TOKEN it wires the
 * local stand-ins (the scripted model plays the pagination fixture's fix and triages emails,
 * chat and form messages, so the free-text intake works offline too).
 */
import { paginationScenario } from './scenarios/pagination.js';
import { answeringTriage } from './scenarios/triage.js';
import { startStack } from './local-stack.js';
import { stopOnSignals } from '../src/infra/stop-on-signals.js';

const say = (line: string) => console.log(`[start] ${line}`);

const stack = await startStack({ script: answeringTriage(paginationScenario), temporal: 'persistent', log: say });
say(`Temporal UI: ${stack.config.TEMPORAL_UI_URL}`);
say('Running. Ctrl-C to stop.');

stopOnSignals(say, () => stack.stop());
