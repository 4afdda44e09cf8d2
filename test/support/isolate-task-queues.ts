/**
 * Each test file gets its own task queues: its worker must only pick up the workflows it started,
 * which talk to its own stand-ins. Runs before the file's imports read temporal.config.ts.
 */
import { randomUUID } from 'node:crypto';

const id = randomUUID().slice(0, 8);
process.env.BUGFIX_TASK_QUEUE = `bugfix-test-${id}`;
// The run's id (global-setup) in the host id: a run sweeps only its own sandboxes, so two runs
// on one machine (CI and a developer's) leave each other's containers alone.
process.env.BUGFIX_HOST_ID = `test-${process.env.BUGFIX_TEST_RUN ?? 'adhoc'}-${id}`;

// Product logs (pino JSON) at warn and above during tests; test/domain/log.test.ts checks their shape.
process.env.LOG_LEVEL ??= 'warn';
