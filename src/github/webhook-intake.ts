/**
 * What happens to one verified GitHub webhook delivery: it is stored under its delivery id
 * before anything else (a redelivery finds it and starts nothing), linked to the project of its
 * repository, and either recorded as ignored (with the reason) or handed to its issue's workflow.
 * A hand-over Temporal could not take stays pending and is retried by the dispatcher below.
 */
import type { Client } from '@temporalio/client';
import { Prisma, type PrismaClient } from '../db/prisma.js';
import { CLAIM_MS, claimBatch, releaseClaim } from '../intake/outbox-claim.js';
import { storableText, withoutNul } from '../db/jsonb.js';
import { decideTrigger, type IssueTrigger } from '../domain/github/triggers.js';
import { decidePullEvent, isServiceBranch, type PullEvent } from '../domain/github/pull-events.js';
import { resolveGitHubSettings } from '../projects/github-settings.js';
import { githubIssueWorkflowId, signalIssueWorkflow } from '../temporal/github-issues.js';
import { githubPullWorkflowId, signalPullWorkflow } from '../temporal/github-pulls.js';
import type { GitHubIssueInput } from '../../workflows/github-issue/messages.js';
import type { GitHubPullInput } from '../../workflows/github-pull/messages.js';

export interface WebhookIntakeDeps {
  prisma: PrismaClient;
  temporal: Client;
  botLogin: string;
  /** a GitHub App's installation: deliveries of other installations are ignored */
  installationId?: number;
  log: { warn?: (obj: unknown, msg: string) => void };
  /** follow-up rounds on the service's pull requests (GITHUB_MAX_ROUNDS_PER_PR, GITHUB_ROUND_DEBOUNCE_MS) */
  rounds?: { maxRounds: number; debounceMs: number };
}

const DEFAULT_ROUNDS = { maxRounds: 5, debounceMs: 20_000 };

export interface DeliveryAnswer {
  status: 200 | 202;
  body: { delivery: string; duplicate?: boolean; ignored?: string; issueWorkflowId?: string; pullWorkflowId?: string };
}

interface Envelope {
  action?: string;
  repository?: { full_name?: string };
  sender?: { login?: string };
  issue?: { number?: number };
  pull_request?: { number?: number };
  installation?: { id?: number };
}

/** What a stored delivery is handed over as: to its issue's workflow, or (`pull`) to its pull request's. */
interface Handover {
  input: GitHubIssueInput;
  trigger: IssueTrigger;
  pull?: undefined;
}
interface PullHandover {
  pull: { input: GitHubPullInput; event: PullEvent };
}

async function projectOf(prisma: PrismaClient, fullName: string) {
  const [owner, name] = fullName.split('/');
  if (!owner || !name) return null;
  return prisma.project.findFirst({
    where: { repoOwner: { equals: owner, mode: 'insensitive' }, repoName: { equals: name, mode: 'insensitive' } },
    select: { id: true, key: true, github: true },
  });
}

export async function receiveDelivery(deps: WebhookIntakeDeps, delivery: { id: string; event: string; payload: unknown }): Promise<DeliveryAnswer> {
  const env = (delivery.payload ?? {}) as Envelope;
  // A name PostgreSQL cannot take (NUL) is looked up and stored as shown (U+2400): no project has it.
  const repoFullName = env.repository?.full_name ? storableText(env.repository.full_name) : null;
  const project = repoFullName ? await projectOf(deps.prisma, repoFullName) : null;

  let ignored: string | undefined;
  let handover: Handover | PullHandover | undefined;
  if (deps.installationId && env.installation?.id && env.installation.id !== deps.installationId)
    ignored = `installation ${env.installation.id} is not this service's`;
  else if (!repoFullName) ignored = `${delivery.event} has no repository`;
  else if (!project) ignored = `no project for repository ${repoFullName}`;
  else {
    const settings = resolveGitHubSettings(project.github);
    const onPull = decidePullEvent(delivery.event, delivery.payload, settings.triggers, deps.botLogin);
    const decision = 'notPull' in onPull ? decideTrigger(delivery.event, delivery.payload, settings.triggers, deps.botLogin) : { ignored: '' };
    if ('ignored' in onPull) ignored = onPull.ignored;
    else if ('event' in onPull) {
      const routed = await pullHandover(deps, project, settings.maxRoundsPerPr, withoutNul({ ...onPull.event, deliveryId: delivery.id }));
      if ('ignored' in routed) ignored = routed.ignored;
      else handover = routed;
    } else if ('ignored' in decision) ignored = decision.ignored;
    else {
      const trigger = withoutNul({ ...decision.trigger, deliveryId: delivery.id });
      handover = { input: { projectId: project.id, projectKey: project.key, repoFullName: trigger.repoFullName, issueNumber: trigger.issueNumber }, trigger };
    }
  }

  if (ignored) ignored = storableText(ignored);
  const claim = new Date(Date.now() + CLAIM_MS);
  const stored = await deps.prisma.gitHubDelivery.createMany({
    // Any name in the payload can hold what PostgreSQL refuses (NUL, a lone surrogate).
    data: withoutNul([
      {
        id: delivery.id,
        event: delivery.event,
        action: env.action ?? null,
        repoFullName,
        projectId: project?.id ?? null,
        sender: env.sender?.login ?? null,
        issueNumber: env.issue?.number ?? env.pull_request?.number ?? null,
        outcome: ignored ? 'ignored' : 'pending',
        reason: ignored ?? null,
        trigger: handover ? (handover as object) : undefined,
        // This process hands it over right after the answer: no other process's dispatcher may meanwhile.
        claimedUntil: handover ? claim : null,
      },
    ]),
    skipDuplicates: true,
  });
  if (stored.count === 0) {
    const earlier = await deps.prisma.gitHubDelivery.findUnique({ where: { id: delivery.id }, select: { outcome: true, reason: true } });
    return { status: 200, body: { delivery: delivery.id, duplicate: true, ...(earlier?.reason ? { ignored: earlier.reason } : {}) } };
  }
  if (!handover) return { status: 202, body: { delivery: delivery.id, ignored } };
  // Stored is safe: the answer does not wait for Temporal (GitHub gives up after 10 s, and a slow
  // answer holds its sender). A hand-over that fails here is retried by the dispatcher below.
  void handOver(deps, delivery.id, handover, claim);
  const workflowId = handover.pull
    ? { pullWorkflowId: githubPullWorkflowId(handover.pull.input.repoFullName, handover.pull.input.prNumber) }
    : { issueWorkflowId: githubIssueWorkflowId(handover.input.repoFullName, handover.input.issueNumber) };
  return { status: 202, body: { delivery: delivery.id, ...workflowId } };
}

/**
 * A pull request event goes to the PR's workflow only when the service opened that PR (its fix
 * recorded the number, from a `fix/bug-*` branch); events on anyone else's PRs are ignored.
 */
async function pullHandover(
  deps: WebhookIntakeDeps,
  project: { id: string; key: string },
  projectMaxRounds: number | undefined,
  event: PullEvent,
): Promise<PullHandover | { ignored: string }> {
  // A check run from a fork's PR lists no PR: its branch names it.
  const byBranch = !event.prNumber;
  if (byBranch && !isServiceBranch(event.headRef))
    return { ignored: `${event.kind} on branch ${event.headRef ?? '(none)'}: not a pull request of the service` };
  const bug = await deps.prisma.bugReport.findFirst({
    where: byBranch
      ? { projectId: project.id, fixBranch: event.headRef!, prNumber: { not: null } }
      : { projectId: project.id, prNumber: event.prNumber, fixBranch: { startsWith: 'fix/bug-' } },
    orderBy: { createdAt: 'desc' },
    select: { id: true, workflowId: true, fixBranch: true, prNumber: true },
  });
  const ours = bug && isServiceBranch(bug.fixBranch) && (!event.headRef || event.headRef === bug.fixBranch);
  if (!bug || !ours) return { ignored: `pull request #${event.prNumber || `of ${event.headRef}`} was not opened by the service` };
  if (byBranch) event = { ...event, prNumber: bug.prNumber! };
  const rounds = deps.rounds ?? DEFAULT_ROUNDS;
  const input: GitHubPullInput = {
    projectId: project.id,
    projectKey: project.key,
    repoFullName: event.repoFullName,
    prNumber: event.prNumber,
    bugId: bug.id,
    fixWorkflowId: bug.workflowId,
    branch: bug.fixBranch!,
    debounceMs: rounds.debounceMs,
    maxRounds: projectMaxRounds ?? rounds.maxRounds,
  };
  return { pull: { input, event } };
}

/**
 * Signals the issue's (or pull request's) workflow and marks the delivery dispatched, under this
 * process's claim on the row; undefined when Temporal failed (the claim is given back).
 */
async function handOver(deps: WebhookIntakeDeps, id: string, h: Handover | PullHandover, claim: Date): Promise<string | undefined> {
  try {
    const workflowId = h.pull
      ? await signalPullWorkflow(deps.temporal, h.pull.input, h.pull.event)
      : await signalIssueWorkflow(deps.temporal, h.input, h.trigger);
    await deps.prisma.gitHubDelivery.update({ where: { id }, data: { outcome: 'dispatched', dispatchedAt: new Date() } });
    return workflowId;
  } catch (err) {
    deps.log.warn?.({ err, delivery: id }, 'GitHub delivery stored; handing it to its issue workflow failed (retried by the dispatcher)');
    await releaseClaim(deps.prisma, 'GitHubDelivery', id, claim).catch(() => undefined); // else it expires
    return undefined;
  }
}

/**
 * Hands over deliveries left pending (Temporal was down, or the process died after storing),
 * each by the one process that claimed it (outbox-claim.ts: a poll of another process skips it).
 * (The issue workflow also ignores a delivery id it has seen.) How many were handed over.
 */
export async function dispatchPendingDeliveries(deps: WebhookIntakeDeps, graceMs: number): Promise<number> {
  const claims = await claimBatch(deps.prisma, 'GitHubDelivery', { where: Prisma.sql`TRUE`, agedBy: 'receivedAt', graceMs, limit: 50 });
  const claimOf = new Map(claims.map((c) => [c.id, c.claimedUntil]));
  const rows = await deps.prisma.gitHubDelivery.findMany({ where: { id: { in: [...claimOf.keys()] } }, orderBy: { receivedAt: 'asc' } });
  let handed = 0;
  for (const r of rows) if (await handOver(deps, r.id, r.trigger as unknown as Handover | PullHandover, claimOf.get(r.id)!)) handed += 1;
  return handed;
}

/** Polls for pending deliveries (dispatchPendingDeliveries) every `everyMs`. */
export function startDeliveryDispatcher(deps: WebhookIntakeDeps, opts: { everyMs?: number; graceMs?: number } = {}): { stop(): void } {
  const every = opts.everyMs ?? 5000;
  const grace = opts.graceMs ?? 5000;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    dispatchPendingDeliveries(deps, grace)
      .catch((err: unknown) => deps.log.warn?.({ err }, 'GitHub delivery dispatcher poll failed'))
      .finally(() => (running = false));
  }, every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
