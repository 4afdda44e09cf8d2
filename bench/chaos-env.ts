/**
 * Imported first by bench/chaos.ts: the seed, and the task queue and host id every module reads
 * from the environment when it loads (temporal.config.ts), so this run's fixes, worker and
 * sandboxes are its own.
 */
export const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
process.env.BUGFIX_TASK_QUEUE = `bugfix-chaos-${SEED}`;
process.env.BUGFIX_HOST_ID = `chaos-${SEED}`;
process.env.LOG_LEVEL ??= 'warn';
