/**
 * The whole stack in one process for local runs, the demo, tests and benches: a Temporal dev
 * server (unless one is reachable or given), the worker, the HTTP server, and — when no real
 * Anthropic or GitHub credentials are configured — their local stand-ins, wired by base URL.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { loadConfig, PROJECT_ROOT, type AppConfig } from '../src/config.js';
import { createPrisma, type PrismaClient } from '../src/db/prisma.js';
import { startHttpServer } from '../src/http/server.js';
import { apiDeps } from '../src/http/deps.js';
import { connectClient, connectWorker } from '../src/temporal/connect.js';
import { isTemporalUp, startDevServer, type DevServer } from '../src/temporal/dev-server.js';
import { reserveHttpPort, uiCodecEndpoint } from './http-port.js';
import { activityDepsFromConfig, startWorkers, type RunningWorkers } from '../src/worker.js';
import { startAnthropicStandIn, type AnthropicStandIn, type ModelScript } from './stand-ins/anthropic-api.js';
import { startGitHubStandIn, type GitHubStandIn } from './stand-ins/github-api.js';
import { localProjectRepos } from './local-project-repos.js';
import { ensureReaperSchedule } from '../src/temporal/reaper-schedule.js';
import { ensureAlertSchedule } from '../src/temporal/alert-schedule.js';
import { devServer, DEFAULT_TEMPORAL_ADDRESS, taskQueues } from '../temporal.config.js';

export interface StackOptions {
  /** scripted model used when ANTHROPIC_API_KEY is not set */
  script: ModelScript;
  /** 'persistent': SQLite file + Web UI (demo, npm start); 'ephemeral': in-memory, headless (tests) */
  temporal: 'persistent' | 'ephemeral' | { address: string };
  httpPort?: number;
  log?: (line: string) => void;
  /**
   * Run the alert Schedule (budgets and alert rules) on this stack's queue. Default: only with
   * 'persistent' (demo, npm start). Test files share one database, so each evaluating every
   * budget would press budget kill switches on each other's controllers; a test that wants it asks.
   */
  alertSchedule?: boolean;
  /**
   * Run a worker in this process (default). Without: no worker at all, for runs that start their
   * worker hosts as processes of their own (dev/worker-host.ts); `workers` then does nothing.
   */
  inProcessWorker?: boolean;
}

export interface Stack {
  config: AppConfig;
  prisma: PrismaClient;
  temporal: Client;
  httpUrl: string;
  anthropic?: AnthropicStandIn;
  github?: GitHubStandIn;
  workers: RunningWorkers;
  stop(): Promise<void>;
}

async function ensureTemporal(mode: StackOptions['temporal'], httpPort: number, log: (l: string) => void): Promise<{ address: string; server?: DevServer }> {
  if (typeof mode === 'object') return { address: mode.address };
  if (mode === 'persistent') {
    const address = process.env.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS;
    if (await isTemporalUp(address)) {
      log(`Temporal: using the server at ${address}`);
      // Its Web UI was told where /codec is when it started, maybe by another run on another port.
      const uiUrl = loadConfig().TEMPORAL_UI_URL;
      const told = await uiCodecEndpoint(uiUrl);
      const ours = `http://localhost:${httpPort}/codec`;
      if (told !== undefined && told !== ours)
        log(
          `Temporal UI at ${uiUrl} decodes through ${told || 'no codec endpoint'}, not ${ours}: set ${ours} in its Codec Server dialog (Use my browser setting), or restart Temporal`,
        );
      return { address };
    }
    const dataDir = path.join(PROJECT_ROOT, '.data');
    fs.mkdirSync(dataDir, { recursive: true });
    log(`Temporal: starting dev server on ${address} (UI on ${devServer.uiPort}, database ${devServer.dbFile})`);
    const server = await startDevServer({
      port: Number(address.split(':').pop()),
      uiPort: devServer.uiPort,
      dbFile: path.resolve(PROJECT_ROOT, devServer.dbFile),
      logFile: path.join(dataDir, 'temporal.log'),
      // localhost like the UI: one site, so the UI's fetch carries the /codec/login cookie (SameSite=Strict).
      uiCodecEndpoint: `http://localhost:${httpPort}/codec`,
    });
    return { address: server.address, server };
  }
  const server = await startDevServer();
  return { address: server.address, server };
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stop: ${String(err)}`));
  };
  try {
    // Bound before the dev server starts, because its Web UI is told where our /codec is, and held
    // until the API takes it over: the port the UI is given is the one really bound.
    const wanted = loadConfig({ ...process.env, ...(opts.httpPort !== undefined ? { HTTP_PORT: String(opts.httpPort) } : {}) });
    const reserved = await reserveHttpPort(wanted.HTTP_PORT, wanted.HTTP_HOST);
    stops.push(async () => void (reserved.listening && (await new Promise((r) => reserved.close(r)))));
    const httpPort = (reserved.address() as AddressInfo).port;
    if (wanted.HTTP_PORT !== 0 && httpPort !== wanted.HTTP_PORT) log(`HTTP: port ${wanted.HTTP_PORT} is taken, using ${httpPort} instead`);
    const temporal = await ensureTemporal(opts.temporal, httpPort, log);
    if (temporal.server) stops.push(() => temporal.server!.stop());
    process.env.TEMPORAL_ADDRESS = temporal.address;

    let anthropic: AnthropicStandIn | undefined;
    if (!process.env.ANTHROPIC_API_KEY) {
      anthropic = await startAnthropicStandIn(opts.script);
      stops.push(() => anthropic!.close());
      log(`Model: scripted stand-in of the Anthropic API at ${anthropic.url} (set ANTHROPIC_API_KEY for Claude)`);
    } else log(`Model: Claude ${process.env.AGENT_MODEL ?? '(AGENT_MODEL default)'} at ${process.env.ANTHROPIC_BASE_URL ?? 'api.anthropic.com'}`);
    let github: GitHubStandIn | undefined;
    // The database is opened below; the stand-in asks it only when a request comes.
    const db: { prisma?: PrismaClient } = {};
    if (!process.env.GITHUB_TOKEN && !process.env.GITHUB_APP_ID) {
      // Every project whose remote is a local repository, including ones created after start.
      github = await startGitHubStandIn({ resolveRepo: localProjectRepos(() => db.prisma) });
      stops.push(() => github!.close());
      log(`GitHub: stand-in of the REST API at ${github.url} over local git remotes (set GITHUB_TOKEN for GitHub)`);
      // Its remotes are local bare repositories: host git needs the 'file' transport, which the
      // product default (https only) refuses. In the environment, where src/infra/git.ts and the
      // project store read it (as does every git this process starts).
      process.env.GIT_ALLOW_PROTOCOL ??= 'file:https';
      // Webhooks of the GitHub stand-in (dev/stand-ins/github-webhooks.ts) are signed with it.
      process.env.GITHUB_WEBHOOK_SECRET ??= randomBytes(16).toString('hex');
      log(`GitHub: webhooks at /api/github/webhook, secret ${process.env.GITHUB_WEBHOOK_SECRET}`);
    } else
      log(
        `GitHub: ${process.env.GITHUB_API_URL ?? 'https://api.github.com'} with ${process.env.GITHUB_APP_ID ? 'GitHub App installation tokens' : 'GITHUB_TOKEN'}`,
      );
    // Notification and alert stand-ins (dev/stand-ins) listen on http://127.0.0.1, which the product
    // refuses (https and public addresses only); in the environment, as workers it starts read it.
    process.env.NOTIFY_ALLOW_HTTP ??= 'true';
    process.env.NOTIFY_ALLOW_NETWORKS ??= '127.0.0.1';
    const config = loadConfig({
      ...process.env,
      ...(anthropic ? { ANTHROPIC_BASE_URL: anthropic.url, ANTHROPIC_API_KEY: 'stand-in-key' } : {}),
      ...(github ? { GITHUB_API_URL: github.url } : {}),
      HTTP_PORT: String(httpPort),
    });

    const prisma = createPrisma(config.DATABASE_URL);
    db.prisma = prisma;
    stops.push(() => prisma.$disconnect());
    const client = await connectClient();
    stops.push(() => client.connection.close());
    const { connection, namespace } = await connectWorker();
    stops.push(() => connection.close());
    const deps = { ...activityDepsFromConfig(config, prisma), temporal: client };
    // Not on a throwaway in-memory server (see the reaper Schedule below).
    const inProcess = opts.inProcessWorker ?? true;
    const workers: RunningWorkers = inProcess
      ? await startWorkers({ connection, namespace, deps, sweepAtStart: opts.temporal !== 'ephemeral' })
      : { run: Promise.resolve(), shutdown: () => Promise.resolve() };
    stops.push(() => workers.shutdown());
    // Idempotent: each start refreshes this host's reaper Schedule (sandboxes of closed fixes).
    // Not on a throwaway in-memory server: it would judge this host's containers by a Temporal
    // that never heard of their workflows.
    if (inProcess && opts.temporal !== 'ephemeral')
      await ensureReaperSchedule(client, { hostId: deps.host.id, hostQueue: deps.host.queue, taskQueue: taskQueues.main });
    if (opts.alertSchedule ?? opts.temporal === 'persistent') {
      await ensureAlertSchedule(client, { taskQueue: taskQueues.main, everySeconds: deps.config.alerts.evaluateEverySeconds });
    }

    const http = await startHttpServer(apiDeps(config, prisma, client), config.HTTP_HOST, config.HTTP_PORT, reserved);
    stops.push(() => http.close());
    log(`HTTP: intake at ${http.url}/api/bugs`);

    return { config, prisma, temporal: client, httpUrl: http.url, anthropic, github, workers, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
