/**
 * All activities, built from their dependencies. The worker passes real clients; tests pass the
 * same real clients pointed at local stand-ins (base URLs are configuration).
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { Client } from '@temporalio/client';
import type Docker from 'dockerode';
import type { PrismaClient } from '../src/db/prisma.js';
import type { GitHubClient } from '../src/infra/github.js';
import { createDeliveryActivities } from './delivery.js';
import { withHeartbeats } from '../src/temporal/activity-heartbeat.js';
import { createFixRecordActivities } from './fix-records.js';
import { createModelActivities } from './model.js';
import { createSandboxActivities } from './sandbox.js';
import { createReaperActivities } from './reaper.js';
import { createSafetyActivities } from './safety.js';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from '../src/sandbox/container.js';
import { ShellPool } from '../src/sandbox/shell-pool.js';
import { createToolActivities } from './tools.js';
import { createTriageActivities } from './triage.js';
import { createValidationActivities } from './validation.js';
import { createReproductionActivities } from './reproduction.js';
import { createNotifyActivities, type NotifyConfig } from './notify.js';
import { createAlertActivities, createSpendCheck } from './alerts.js';
import type { AlertConfig } from '../src/alerts/alert-config.js';
import type { CondenseSettings } from '../src/domain/agent/condense.js';
import { taskQueues } from '../temporal.config.js';
import type { SpendGuard } from '../src/safety/spend-guard.js';
import { createEnvironmentActivities } from './environment.js';
import { environmentBuilds } from '../src/temporal/environment-builds.js';
import { createGitHubIssueActivities } from './github.js';
import { createGitHubPullActivities } from './github-pull.js';

export interface ActivityDeps {
  prisma: PrismaClient;
  docker: Docker;
  anthropic: Anthropic;
  github: GitHubClient;
  config: {
    model: string;
    maxTokens: number;
    /** when a fix's older turns are summarised: the model's context window and the share that triggers it */
    condense?: CondenseSettings;
    sandboxImage: string;
    workDir: string;
    /** the host's git credential (token or GitHub App installation token) */
    gitToken?: () => Promise<string | undefined>;
    /** author and committer of pushed fixes */
    commitIdentity?: { name: string; email: string };
    sandboxLimits?: SandboxLimits;
    /** Docker network a project's install step may use (installNetwork); none unless set */
    sandboxInstallNetwork?: string;
    /** environment builds: the CA bundle setups trust, and the image cache budget of this host */
    environment?: { caBundle?: string; cacheBytes: number };
    notify: NotifyConfig;
    /** organisation alerts: channels and rule thresholds (src/alerts/alert-config.ts) */
    alerts: AlertConfig;
    /** Web UI base for links (GitHub status comments); TEMPORAL_UI_URL */
    temporalUiUrl?: string;
    /** the bot's login (GITHUB_BOT_LOGIN): its own replies close a review thread */
    githubBotLogin?: string;
    /** what a pull request may cost in all, fix and rounds (GITHUB_MAX_COST_USD_PER_PR) */
    githubMaxCostUsdPerPr?: number;
  };
  host: { id: string; queue: string };
  /** kill switches heard over PostgreSQL NOTIFY: model calls they cover stop at once (src/safety/spend-guard.ts) */
  spendGuard?: SpendGuard;
  /** where the spend guard listens (DATABASE_URL) */
  databaseUrl?: string;
  /** Temporal client: the sandbox reaper asks it whether a sandbox's workflow is still open; the safety activities read visibility and signal fixes */
  temporal?: Client;
}

export function createActivities(deps: ActivityDeps) {
  const { prisma, docker, config } = deps;
  // This worker process's persistent sandbox shells, shared by the tools and the cleanup.
  const shells = new ShellPool(docker);
  const alertDeps = { prisma, temporal: deps.temporal, config: config.alerts, taskQueue: taskQueues.main };
  const onSpend = createSpendCheck(alertDeps);
  return withHeartbeats({
    ...createFixRecordActivities({ prisma }),
    ...createModelActivities({
      prisma,
      anthropic: deps.anthropic,
      model: config.model,
      maxTokens: config.maxTokens,
      condense: config.condense,
      onSpend,
      spendGuard: deps.spendGuard,
    }),
    ...createSandboxActivities({
      docker,
      image: config.sandboxImage,
      workDir: config.workDir,
      hostId: deps.host.id,
      hostQueue: deps.host.queue,
      gitToken: config.gitToken,
      limits: config.sandboxLimits,
      prisma,
      shells,
      installNetwork: config.sandboxInstallNetwork,
      buildEnvironment: deps.temporal ? environmentBuilds(deps.temporal, taskQueues.main) : undefined,
      spendGuard: deps.spendGuard,
    }),
    ...createEnvironmentActivities({
      prisma,
      docker,
      workDir: config.workDir,
      baseImage: config.sandboxImage,
      limits: config.sandboxLimits ?? DEFAULT_SANDBOX_LIMITS,
      caBundle: config.environment?.caBundle,
    }),
    ...createToolActivities({ prisma, docker, shells }),
    ...createReaperActivities({ docker, temporal: deps.temporal, hostId: deps.host.id, shells, prisma, environmentCacheBytes: config.environment?.cacheBytes }),
    ...createValidationActivities({ docker }),
    ...createReproductionActivities({ docker, prisma }),
    ...createDeliveryActivities({
      prisma,
      docker,
      github: deps.github,
      gitToken: config.gitToken,
      workDir: config.workDir,
      commitIdentity: config.commitIdentity,
    }),
    ...createTriageActivities({ prisma, anthropic: deps.anthropic, onSpend }),
    ...createNotifyActivities({ prisma, config: config.notify }),
    ...createSafetyActivities({ prisma, temporal: deps.temporal }),
    ...createAlertActivities(alertDeps),
    ...createGitHubIssueActivities({ prisma, github: deps.github, temporal: deps.temporal, temporalUiUrl: config.temporalUiUrl ?? 'http://localhost:8233' }),
    ...createGitHubPullActivities({
      prisma,
      github: deps.github,
      botLogin: config.githubBotLogin ?? 'bugfix-bot',
      maxCostUsdPerPr: config.githubMaxCostUsdPerPr ?? 20,
    }),
  });
}

export type Activities = ReturnType<typeof createActivities>;
