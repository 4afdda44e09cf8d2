/**
 * The one place for Temporal settings: connection (address, namespace, TLS / API key for a hosted
 * cluster), task queues, search attributes and worker tuning. Read by the worker, the HTTP server,
 * the CLI, the tests and the benches.
 *
 * Connection comes from @temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_* or a TOML profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE).
 */
import os from 'node:os';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from './src/domain/fix/search-attributes.js';
import { githubQueueOf } from './src/domain/github/task-queue.js';

const CLI_TYPE_NAMES: Record<string, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

export interface TemporalConnectSettings {
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
}

export function temporalConnectSettings(): TemporalConnectSettings {
  const loaded = loadClientConnectConfig();
  return {
    connectionOptions: {
      ...loaded.connectionOptions,
      address: loaded.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS,
    },
    namespace: loaded.namespace ?? 'default',
  };
}

export const taskQueues = {
  /** Orchestration, model calls, database and delivery work: any worker can take it. */
  main: process.env.BUGFIX_TASK_QUEUE ?? 'bugfix',
  /**
   * Sandbox work must run where the container lives: each worker host also polls its own queue,
   * and provisioning returns that queue name to the workflow.
   */
  host: (hostId: string = process.env.BUGFIX_HOST_ID ?? os.hostname()) => `${process.env.BUGFIX_TASK_QUEUE ?? 'bugfix'}-host-${hostId}`,
  /**
   * The GitHub conversation (permission checks, replies, status comments, review rounds' threads):
   * its writes wait in Octokit's throttle (GitHub asks for seconds between content-creating
   * requests) and a status comment's watcher lasts as long as its fix, so on the shared queue a
   * burst of comments took every slot and fixes' own activities waited minutes. Its own queue
   * and slots keep fixes moving. Workflows derive it from their own queue (githubQueueOf).
   */
  github: githubQueueOf(process.env.BUGFIX_TASK_QUEUE ?? 'bugfix'),
} as const;

/** Custom search attributes (`Name=Type` as the Temporal CLI takes them), registered on the dev server at start. */
export const searchAttributeFlags: string[] = ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => `${k.name}=${CLI_TYPE_NAMES[k.type]}`);

export const workerTuning = {
  // The shared queue's activities wait on the model API and PostgreSQL, not on this process's CPU,
  // and a fix holds a slot for a whole model call. At 50, fifty fixes took every slot and the kill
  // switch's fan-out waited ~1 s for a model call to end (bench:kill).
  maxConcurrentActivityTaskExecutions: Number(process.env.BUGFIX_MAX_ACTIVITIES ?? 200),
  maxConcurrentWorkflowTaskExecutions: Number(process.env.BUGFIX_MAX_WORKFLOW_TASKS ?? 40),
  maxCachedWorkflows: Number(process.env.BUGFIX_MAX_CACHED_WORKFLOWS ?? 500),
  // Heartbeats carry cancellations to running activities: send them at least every second so a
  // kill or cancel reaches an in-flight model call or command within about a second.
  maxHeartbeatThrottleInterval: process.env.BUGFIX_HEARTBEAT_THROTTLE ?? '1 second',
} as const;

/**
 * The host queue's worker runs the projects' own commands (tests, builds) in sandboxes on this
 * machine's CPUs, and a command's timeout is wall-clock: past what the machine can run at once,
 * commands starve and time out (bench:concurrency: 17 of 100 fixes failed with 200 slots on 2
 * cores, none with 50). Size it to the host.
 */
export const hostWorkerTuning = {
  ...workerTuning,
  maxConcurrentActivityTaskExecutions: Number(process.env.BUGFIX_MAX_HOST_ACTIVITIES ?? 50),
} as const;

/** The GitHub conversation's worker: its activities mostly wait (throttled writes, status watchers). */
export const githubWorkerTuning = {
  ...workerTuning,
  maxConcurrentActivityTaskExecutions: Number(process.env.BUGFIX_MAX_GITHUB_ACTIVITIES ?? 200),
} as const;

/** Dev server used by `npm run demo`, `npm start` and the tests when no cluster is configured. */
export const devServer = {
  uiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
  dbFile: process.env.TEMPORAL_DB_FILE ?? '.data/temporal.db',
} as const;
