/** Temporal connections built from temporal.config.ts, for clients and workers alike. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { PinoTemporalLogger, rootLog } from '../infra/log.js';
import { temporalConnectSettings } from '../../temporal.config.js';
import { dataConverter } from './payload-keys.js';

export async function connectClient(): Promise<Client> {
  const s = temporalConnectSettings();
  const connection = await Connection.connect(s.connectionOptions);
  return new Client({ connection, namespace: s.namespace, dataConverter: dataConverter() });
}

let runtimeInstalled = false;
/**
 * The SDK logs every worker state change at INFO; keep warnings and errors (TEMPORAL_LOG_LEVEL to
 * change). Must run before the first native connection creates the default runtime.
 */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as LogLevel;
  // shutdownSignals: []: the owning program decides when workers stop (the demo lets a cancelled
  // fix clean up its sandbox after Ctrl-C before it stops them).
  // The host-queue worker has activities only, by design: its start-up warning says nothing useful.
  const logger = new PinoTemporalLogger(rootLog.child({ component: 'worker' }), level, ['No workflows registered']);
  Runtime.install({ logger, shutdownSignals: [] });
}

export async function connectWorker(): Promise<{ connection: NativeConnection; namespace: string }> {
  installRuntime();
  const s = temporalConnectSettings();
  return { connection: await NativeConnection.connect(s.connectionOptions), namespace: s.namespace };
}

export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * Retries a first connection while Temporal is unreachable (restarting, not up yet), doubling the
 * wait up to maxDelayMs: a worker started during a server restart waits for it instead of exiting.
 */
export async function untilConnected<T>(connect: () => Promise<T>, log: (msg: string) => void, maxDelayMs = 5000): Promise<T> {
  let delay = 250;
  for (;;) {
    try {
      return await connect();
    } catch (err) {
      log(`Temporal unreachable (${err instanceof Error ? err.message : String(err)}); retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
