/** Projects and their intake keys (the admin API builds on these). */
import { z } from 'zod';
import { cloneUrlProblem, configuredGitPolicy } from '../infra/git.js';
import { configuredOutboundPolicy, urlRefusal } from '../infra/outbound-http.js';
import { PROJECT_KEY } from '../domain/fix/ids.js';
import { VALIDATION_GATES } from '../domain/fix/fix.js';
import { REPRODUCTION_POLICIES } from '../domain/fix/reproduction.js';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { hashKey, newIntakeKey } from '../intake/keys.js';
import { budgetsSchema, deliverySchema, notificationsSchema, sandboxSettingsSchema, scopeLimitsSchema } from './project-settings.js';
import { githubSettingsSchema } from './github-settings.js';
import { environmentSchema, environmentSecretsSchema, mergeSecrets } from './environment-settings.js';

/**
 * Host git clones and pushes the cloneUrl with the worker's privileges, so it may name only the
 * transports host git is allowed (GIT_ALLOW_PROTOCOL, https unless configured): refused here with
 * the reason rather than at the fix's first clone.
 */
function allowedCloneUrl(url: string, ctx: z.RefinementCtx) {
  const problem = cloneUrlProblem(url, configuredGitPolicy().allowProtocol);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

/**
 * Notices are sent with the worker's network position: a Slack or webhook URL may not point into
 * it (SSRF). Refused here by scheme and literal address (NOTIFY_ALLOW_HTTP/_NETWORKS); names are
 * resolved and checked again on every send (src/infra/outbound-http.ts).
 */
function allowedNotificationUrls(n: z.infer<typeof notificationsSchema>, ctx: z.RefinementCtx) {
  const policy = configuredOutboundPolicy();
  const urls: Array<[string[], string | undefined]> = [
    [['slack', 'webhookUrl'], n.slack?.webhookUrl],
    [['webhook', 'url'], n.webhook?.url],
  ];
  for (const [path, url] of urls) {
    // One that is not a URL at all is already reported by the schema.
    const problem = url === undefined || !URL.canParse(url) ? null : urlRefusal(url, policy);
    if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
  }
}

/** Settings a PATCH may change; all optional and without defaults so absent means "unchanged". */
export const projectSettingsSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  repoOwner: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/)
    .optional(),
  repoName: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/)
    .optional(),
  cloneUrl: z.string().min(1).max(2000).superRefine(allowedCloneUrl).nullable().optional(),
  defaultBranch: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{1,200}$/)
    .optional(),
  validation: z.partialRecord(z.enum(VALIDATION_GATES), z.string().min(1).max(2000)).optional(),
  budgets: budgetsSchema.optional(),
  scopeLimits: scopeLimitsSchema.optional(),
  sandbox: sandboxSettingsSchema.optional(),
  notifications: notificationsSchema.superRefine(allowedNotificationUrls).optional(),
  prDraft: z.boolean().optional(),
  /** reproduction test: required (a fix without a verified one goes back to the agent), preferred (reported), off */
  reproduction: z.enum(REPRODUCTION_POLICIES).optional(),
  // GitHub refuses label names over 50 characters (422): refused here, not at delivery.
  prLabels: z.array(z.string().min(1).max(50)).max(20).optional(),
  /** null removes the environment: fixes use the plain sandbox image again */
  environment: environmentSchema.nullable().optional(),
  /** write-only; per name, null removes one */
  environmentSecrets: environmentSecretsSchema.optional(),
  /** GitHub triggers (labels, assignment, comment command or mention) and who may use them */
  github: githubSettingsSchema.optional(),
  /** branch (default): fix/bug-* in the repository; fork: in a bot-owned fork, the PR opened from there */
  delivery: deliverySchema.optional(),
});

export const projectSchema = projectSettingsSchema.extend({
  key: z.string().regex(PROJECT_KEY, 'lowercase letters, digits and dashes, starting with a letter or digit'),
  name: z.string().min(1).max(200),
  repoOwner: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
  repoName: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
  defaultBranch: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{1,200}$/)
    .default('main'),
  validation: z.partialRecord(z.enum(VALIDATION_GATES), z.string().min(1).max(2000)).default({}),
});
export type ProjectInput = z.input<typeof projectSchema>;

type Settings = z.output<typeof projectSettingsSchema>;

/** The columns a validated settings object writes (JSON null and write-only secrets need care). */
function columns<S extends Settings>(s: S, storedSecrets: unknown) {
  const { environment, environmentSecrets, ...rest } = s;
  return {
    ...rest,
    ...(environment !== undefined ? { environment: environment ?? Prisma.DbNull } : {}),
    ...(environmentSecrets ? { environmentSecrets: mergeSecrets(storedSecrets, environmentSecrets) } : {}),
  };
}

export async function upsertProject(prisma: PrismaClient, input: ProjectInput) {
  const p = projectSchema.parse(input);
  const existing = await prisma.project.findUnique({ where: { key: p.key }, select: { environmentSecrets: true } });
  const data = { ...columns(p, existing?.environmentSecrets), key: p.key, cloneUrl: p.cloneUrl ?? null };
  return prisma.project.upsert({ where: { key: p.key }, create: data, update: data });
}

/** null when there is no such project. */
export async function updateProject(prisma: PrismaClient, key: string, patch: z.input<typeof projectSettingsSchema>) {
  const data = projectSettingsSchema.parse(patch);
  const existing = await prisma.project.findUnique({ where: { key }, select: { id: true, environmentSecrets: true } });
  if (!existing) return null;
  return prisma.project.update({ where: { key }, data: columns(data, existing.environmentSecrets) });
}

/**
 * Removes the project with its keys and reports (cascade), and what its fixes stored by workflow
 * id (model turns, workspace checkpoints); the ledger keeps its rows.
 */
export async function deleteProject(prisma: PrismaClient, key: string): Promise<boolean> {
  // In the database: a project may have many reports, and their ids need not come over the wire.
  const ofProject = Prisma.sql`SELECT b."workflowId" FROM "BugReport" b JOIN "Project" p ON p."id" = b."projectId" WHERE p."key" = ${key}`;
  const [, , { count }] = await prisma.$transaction([
    prisma.$executeRaw`DELETE FROM "AgentTurn" WHERE "workflowId" IN (${ofProject})`,
    prisma.$executeRaw`DELETE FROM "WorkspaceCheckpoint" WHERE "workflowId" IN (${ofProject})`,
    prisma.project.deleteMany({ where: { key } }),
    // Its prepared images become unknown to every host: their reapers remove them.
    prisma.environmentImage.deleteMany({ where: { projectKey: key } }),
  ]);
  return count > 0;
}

/** Returns the new key once; only its hash is stored. */
export async function issueIntakeKey(prisma: PrismaClient, projectId: string, label = 'default'): Promise<string> {
  const key = newIntakeKey();
  await prisma.intakeKey.create({ data: { projectId, keyHash: hashKey(key), label } });
  return key;
}
