/** Imported first by bench/concurrency.ts: this run's own task queue and host id, read by temporal.config.ts when it loads. */
const run = Date.now().toString(36);
process.env.BUGFIX_TASK_QUEUE = `bugfix-concurrency-${run}`;
process.env.BUGFIX_HOST_ID = `concurrency-${run}`;
process.env.LOG_LEVEL ??= 'warn';
