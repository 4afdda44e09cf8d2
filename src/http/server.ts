/** Listens: the HTTP intake, admin API and codec endpoint on HTTP_HOST:HTTP_PORT, with the intake's outbox dispatcher. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config.js';
import { FixDispatcher } from '../intake/fix-dispatcher.js';
import { createApp, githubWebhookSettingsFromEnv, type AppDeps } from './app.js';
import { startDeliveryDispatcher } from '../github/webhook-intake.js';
import { TriageDispatcher } from '../intake/triage-dispatcher.js';

export interface HttpServer {
  server: Server;
  url: string;
  dispatcher: FixDispatcher;
  triageDispatcher: TriageDispatcher;
  /** stops accepting, then waits for the starts in flight (the rest stay stored for the next poll) */
  close(): Promise<void>;
}

/**
 * `reserved`: a server already listening (the local stack holds its port from before the Temporal
 * dev server starts, whose UI is told that port): it gets the app instead of a new listener.
 */
export async function startHttpServer(deps: AppDeps, host: string, port: number, reserved?: Server): Promise<HttpServer> {
  const config = loadConfig();
  const dispatcher =
    deps.dispatcher ?? new FixDispatcher(deps, { concurrency: config.INTAKE_START_CONCURRENCY, startsPerSecond: config.INTAKE_START_RATE_PER_S });
  const triageDispatcher = deps.triageDispatcher ?? new TriageDispatcher(deps);
  const app = createApp({ ...deps, dispatcher, triageDispatcher });
  const server = reserved
    ? reserved.removeAllListeners('request').on('request', app)
    : await new Promise<Server>((resolve, reject) => {
        // Express 5 hands listen errors (EADDRINUSE ...) to this callback.
        const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
      });
  dispatcher.start();
  triageDispatcher.start();
  const githubDispatcher = startDeliveryDispatcher({ ...deps, ...(deps.githubWebhooks ?? githubWebhookSettingsFromEnv()) });
  const addr = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    dispatcher,
    triageDispatcher,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      githubDispatcher.stop();
      await dispatcher.stop();
      await triageDispatcher.stop();
    },
  };
}
