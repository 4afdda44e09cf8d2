/** Writes of answers already paid for: connection-level failures get two quick retries before failing. */
import { Prisma } from './prisma.js';

/** Connection-level failures (dropped, reset, pool closed) get two quick retries before failing the activity. */
export async function withDbRetry<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= 3 || !isConnectionError(err)) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

function isConnectionError(err: unknown): boolean {
  // Unique violations and the like are answers, not connection trouble.
  if (err instanceof Prisma.PrismaClientKnownRequestError && !/^P10/.test(err.code)) return false;
  const text = `${(err as Error)?.message ?? ''} ${String((err as { cause?: unknown })?.cause ?? '')}`;
  return /terminat|connection|ECONNRESET|ECONNREFUSED|closed|socket/i.test(text);
}

/** A unique-key violation: another attempt of the same call stored its answer first. */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}
