/**
 * Write-ahead rows for model calls. A call is reserved (a `pending` ledger row, cost 0) before the
 * request goes out; the answer replaces it with the provider's exact usage in the same transaction
 * that stores the turn; an error answer (not billed) releases it. An attempt that dies in flight
 * (worker SIGKILL between the provider's answer and the commit) leaves its reservation, and the
 * next attempt (or the abort) turns it into a `lost` row priced like the fix's previous call: the
 * provider may have billed it, so budgets count it rather than miss it (`npm run chaos` found 2
 * such calls in 182).
 */
import { Prisma, type PrismaClient } from '../db/prisma.js';

/**
 * Sent with each model request: the key of its reservation, so a call answered but never stored
 * can be matched to the `lost` row that stands for it (the provider ignores unknown headers; a
 * proxy or the stand-in can log it).
 */
export const CALL_KEY_HEADER = 'x-bugfix-call-key';

export interface ReservedCall {
  workflowId: string;
  iteration: number;
  bugId: string;
  projectId: string;
  model: string;
  /** a call of an iteration other than its turn (condense) reserves under its own keys */
  purpose?: 'agent' | 'condense';
}

export function callReservations(prisma: PrismaClient | Prisma.TransactionClient, call: ReservedCall) {
  const purpose = call.purpose ?? 'agent';
  const prefix = `${call.workflowId}#${call.iteration}#${purpose === 'agent' ? '' : `${purpose}#`}pending#`;
  const key = (attempt: number) => `${prefix}${attempt}`;

  async function markLost(where: Prisma.LedgerEntryWhereInput): Promise<void> {
    if ((await prisma.ledgerEntry.count({ where: { ...where, kind: 'pending' } })) === 0) return;
    const previous = await prisma.ledgerEntry.findFirst({ where: { workflowId: call.workflowId, kind: 'answered' }, orderBy: { createdAt: 'desc' } });
    await prisma.ledgerEntry.updateMany({
      where: { ...where, kind: 'pending' },
      data: {
        kind: 'lost',
        inputTokens: previous?.inputTokens ?? 0,
        outputTokens: previous?.outputTokens ?? 0,
        cacheCreationTokens: previous?.cacheCreationTokens ?? 0,
        cacheReadTokens: previous?.cacheReadTokens ?? 0,
        costUsd: previous?.costUsd ?? new Prisma.Decimal(0),
      },
    });
  }

  return {
    key,
    /** request options of this attempt's call: its reservation key as a header */
    requestHeaders: (attempt: number) => ({ [CALL_KEY_HEADER]: key(attempt) }),
    /**
     * Before the request: earlier attempts of this call that died in flight become lost calls (only
     * a retry can find one, so a first attempt skips the look), and this one is reserved.
     */
    async reserve(attempt: number): Promise<void> {
      if (attempt > 1) await markLost({ callKey: { startsWith: prefix, not: key(attempt) } });
      await prisma.ledgerEntry.createMany({
        data: [
          {
            callKey: key(attempt),
            workflowId: call.workflowId,
            projectId: call.projectId,
            bugId: call.bugId,
            iteration: call.iteration,
            model: call.model,
            inputTokens: 0,
            outputTokens: 0,
            costUsd: new Prisma.Decimal(0),
            kind: 'pending',
            purpose,
          },
        ],
        skipDuplicates: true,
      });
    },
    /** Drops the reservation: the answer's own row replaces it, or an error answer billed nothing. */
    release: (attempt: number) => prisma.ledgerEntry.deleteMany({ where: { callKey: key(attempt), kind: 'pending' } }),
    /** The call was abandoned in flight (aborted, connection lost): it may have been billed. */
    lose: (attempt: number) => markLost({ callKey: key(attempt) }),
  };
}
