/**
 * All activities, built from their dependencies. The worker passes real clients; tests pass the
 * same real clients pointed at local stand-ins (base URLs are configuration).
 */
import type Anthropic from '@anthropic-ai/sdk';
import type Docker from 'dockerode';
import type { PrismaClient } from '../src/db/prisma.js';
import type { GitHubClient } from '../src/infra/github.js';
import { createDeliveryActivities } from './deliver.js';
import { createFixRecordActivities } from './fix-records.js';
import { createModelActivities } from './model.js';
import { createSandboxActivities } from './sandbox-activities.js';
import type { SandboxLimits } from './sandbox.js';
import { createToolActivities } from './tools.js';
import { createValidationActivities } from './validate.js';

export interface ActivityDeps {
  prisma: PrismaClient;
  docker: Docker;
  anthropic: Anthropic;
  github: GitHubClient;
  config: {
    model: string;
    maxTokens: number;
    sandboxImage: string;
    workDir: string;
    gitToken?: string;
    sandboxLimits?: SandboxLimits;
  };
  host: { id: string; queue: string };
}

export function createActivities(deps: ActivityDeps) {
  const { prisma, docker, config } = deps;
  return {
    ...createFixRecordActivities({ prisma }),
    ...createModelActivities({ prisma, anthropic: deps.anthropic, model: config.model, maxTokens: config.maxTokens }),
    ...createSandboxActivities({
      docker,
      image: config.sandboxImage,
      workDir: config.workDir,
      hostId: deps.host.id,
      hostQueue: deps.host.queue,
      gitToken: config.gitToken,
      limits: config.sandboxLimits,
    }),
    ...createToolActivities({ prisma, docker }),
    ...createValidationActivities({ docker }),
    ...createDeliveryActivities({ docker, github: deps.github, gitToken: config.gitToken, workDir: config.workDir }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
