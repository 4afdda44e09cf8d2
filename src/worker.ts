/**
 * The worker: one Worker on the shared task queue (workflows + activities) and one on this host's
 * own queue (sandbox activities must run where the container lives). Real clients are built from
 * configuration; tests and the demo point the same clients at local stand-ins by base URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import Docker from 'dockerode';
import { githubWorkerTuning, hostWorkerTuning, taskQueues, workerTuning } from '../temporal.config.js';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { createReaperActivities, type ReapResult } from '../activities/reaper.js';
import { outboundPolicyFrom, type AppConfig } from './config.js';
import { alertConfigFrom } from './alerts/alert-config.js';
import type { PrismaClient } from './db/prisma.js';
import { createGitHubAccess, type GitHubAppCredentials } from './infra/github.js';
import { dataConverter, FAILURE_CONVERTER_PATH } from './temporal/payload-keys.js';
import { listenForSwitches, SpendGuard, type SwitchNotice } from './safety/spend-guard.js';
import { removeSandboxesInScope } from './safety/switch-sweep.js';
import { rootLog } from './infra/log.js';

/** workflows/index.ts, or its compiled .js in the service image (same extension as this module) */
export const WORKFLOWS_PATH = new URL(`../workflows/index${path.extname(import.meta.url)}`, import.meta.url).pathname;

/** GitHub App credentials when all three settings are given (the key inline or from a file). */
function githubApp(config: AppConfig): GitHubAppCredentials | undefined {
  const key = config.GITHUB_APP_PRIVATE_KEY ?? (config.GITHUB_APP_PRIVATE_KEY_FILE ? fs.readFileSync(config.GITHUB_APP_PRIVATE_KEY_FILE, 'utf8') : undefined);
  if (!config.GITHUB_APP_ID || !key || !config.GITHUB_APP_INSTALLATION_ID) return undefined;
  return { appId: config.GITHUB_APP_ID, privateKey: key, installationId: config.GITHUB_APP_INSTALLATION_ID };
}

let cachedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling takes seconds: do it once per process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  cachedBundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, logger: quietBundlerLogger });
  return cachedBundle;
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
  log: () => undefined,
};

export function activityDepsFromConfig(config: AppConfig, prisma: PrismaClient, hostId = process.env.BUGFIX_HOST_ID ?? os.hostname()): ActivityDeps {
  const github = createGitHubAccess({ token: config.GITHUB_TOKEN, app: githubApp(config), baseUrl: config.GITHUB_API_URL });
  return {
    prisma,
    databaseUrl: config.DATABASE_URL,
    spendGuard: new SpendGuard(taskQueues.main),
    docker: new Docker(),
    // Without ANTHROPIC_API_KEY the SDK still needs a value; the call fails at the API instead.
    anthropic: new Anthropic({ apiKey: config.ANTHROPIC_API_KEY ?? 'missing-key', baseURL: config.ANTHROPIC_BASE_URL, maxRetries: 2 }),
    github: github.client,
    config: {
      model: config.AGENT_MODEL,
      maxTokens: config.AGENT_MAX_TOKENS,
      condense: { contextWindowTokens: config.AGENT_CONTEXT_WINDOW_TOKENS, condenseAtShare: config.CONDENSE_AT_SHARE },
      sandboxImage: config.SANDBOX_IMAGE,
      sandboxInstallNetwork: config.SANDBOX_INSTALL_NETWORK,
      environment: {
        caBundle: fs.existsSync(config.SANDBOX_CA_BUNDLE) ? config.SANDBOX_CA_BUNDLE : undefined,
        cacheBytes: config.ENVIRONMENT_CACHE_MB * 1024 ** 2,
      },
      workDir: config.WORK_DIR,
      gitToken: github.gitToken,
      commitIdentity: { name: config.COMMIT_AUTHOR_NAME, email: config.COMMIT_AUTHOR_EMAIL },
      notify: {
        outbound: outboundPolicyFrom(config),
        smtpUrl: config.SMTP_URL,
        emailFrom: config.EMAIL_FROM,
        twilio:
          config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN && config.TWILIO_WHATSAPP_FROM
            ? {
                accountSid: config.TWILIO_ACCOUNT_SID,
                authToken: config.TWILIO_AUTH_TOKEN,
                whatsappFrom: config.TWILIO_WHATSAPP_FROM,
                apiUrl: config.TWILIO_API_URL,
              }
            : undefined,
      },
      alerts: alertConfigFrom(config),
      temporalUiUrl: config.TEMPORAL_UI_URL,
      githubBotLogin: config.GITHUB_BOT_LOGIN,
      githubMaxCostUsdPerPr: config.GITHUB_MAX_COST_USD_PER_PR,
    },
    host: { id: hostId, queue: taskQueues.host(hostId) },
  };
}

export interface RunningWorkers {
  run: Promise<void>;
  /** the startup sweep of this host's orphaned sandboxes, when asked for (never rejects) */
  swept?: Promise<ReapResult | Error>;
  shutdown(): Promise<void>;
}

/**
 * Removes this host's sandboxes whose workflow is closed or unknown, or whose fix works on
 * another host now, once, as the worker starts: a host that was down (its worker killed, its
 * engine stopped) comes back with containers of fixes that moved away or finished meanwhile, and
 * its reaper would leave them for 10 minutes or more. Only containers created before
 * `startedAt`: nothing older is a provisioning of this worker.
 */
export function sweepOrphans(deps: ActivityDeps, startedAt: number): Promise<ReapResult> {
  const reaper = createReaperActivities({ docker: deps.docker, temporal: deps.temporal, hostId: deps.host.id, hostQueue: deps.host.queue });
  return reaper.reapSandboxes({ minAgeMs: 0, createdBeforeMs: startedAt, moved: true });
}

/** A switch pressed: this host's sandboxes it covers go at once, before Temporal's kill reaches their fixes. */
function sweepOnSwitch(deps: ActivityDeps): (notice: SwitchNotice) => void {
  return (notice) =>
    void removeSandboxesInScope(deps.docker, deps.host.id, notice.scope).then(({ removed, failed }) => {
      if (removed.length > 0) rootLog.info({ scope: notice.scope, removed: removed.length }, 'kill switch: removed the sandboxes it covers on this host');
      if (failed.length > 0) rootLog.warn({ scope: notice.scope, failed }, "kill switch: some sandboxes could not be removed; the fixes' cleanup retries");
    });
}

export async function startWorkers(opts: {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  /** sweep this host's orphaned sandboxes once the workers poll (needs deps.temporal) */
  sweepAtStart?: boolean;
}): Promise<RunningWorkers> {
  const startedAt = Date.now();
  const activities = createActivities(opts.deps);
  const bundle = await workflowBundle();
  const common = { connection: opts.connection, namespace: opts.namespace, activities, dataConverter: dataConverter() };
  const main = await Worker.create({ ...common, ...workerTuning, taskQueue: taskQueues.main, workflowBundle: bundle });
  const host = await Worker.create({ ...common, ...hostWorkerTuning, taskQueue: opts.deps.host.queue });
  const github = await Worker.create({ ...common, ...githubWorkerTuning, taskQueue: taskQueues.github });
  const workers = [main, host, github];
  // Kill switches reach this worker's model calls over PostgreSQL at once, not only through Temporal.
  const { spendGuard, databaseUrl } = opts.deps;
  const listening = spendGuard && databaseUrl ? listenForSwitches(databaseUrl, opts.deps.prisma, spendGuard, rootLog, sweepOnSwitch(opts.deps)) : undefined;
  const run = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  const swept = opts.sweepAtStart
    ? sweepOrphans(opts.deps, startedAt).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))
    : undefined;
  return {
    run,
    swept,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await run;
      await listening?.stop();
    },
  };
}
