/**
 * What CLI commands talk to: Temporal (temporal.config.ts, like the worker) and PostgreSQL (bug-id
 * lookup, costs), each connected on first use so `bugfix list` needs no database.
 */
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectSettings } from '../../temporal.config.js';
import { loadConfig } from '../config.js';
import { createPrisma, type PrismaClient } from '../db/prisma.js';
import { FixError } from '../fixes/fix-errors.js';
import { dataConverter } from '../temporal/payload-keys.js';

export class CliContext {
  private client?: Client;
  private db?: PrismaClient;
  /** Who the audit trail names; a uid with no passwd entry (containers) still gets a name. */
  get actor(): string {
    try {
      return `cli:${os.userInfo().username}`;
    } catch {
      return `cli:${process.env.USER ?? `uid-${process.getuid?.() ?? 'unknown'}`}`;
    }
  }

  async temporal(): Promise<Client> {
    if (this.client) return this.client;
    const s = temporalConnectSettings();
    try {
      const connection = await Connection.connect({ ...s.connectionOptions, connectTimeout: '5s' });
      // The same payload codec as the worker: results and memos come back encrypted otherwise.
      this.client = new Client({ connection, namespace: s.namespace, dataConverter: dataConverter() });
      return this.client;
    } catch (err) {
      throw new FixError('unavailable', `cannot reach Temporal at ${s.connectionOptions.address}: ${firstLine(err)}`);
    }
  }

  prisma(): PrismaClient {
    this.db ??= createPrisma(loadConfig().DATABASE_URL);
    return this.db;
  }

  /** Both, for commands that resolve a bug id. */
  async deps(): Promise<{ prisma: PrismaClient; temporal: Client }> {
    return { prisma: this.prisma(), temporal: await this.temporal() };
  }

  async close(): Promise<void> {
    await this.client?.connection.close().catch(() => undefined);
    await this.db?.$disconnect().catch(() => undefined);
  }
}

export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}
