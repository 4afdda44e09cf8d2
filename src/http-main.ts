/**
 * An HTTP API process on its own (`npm run api`): intake, admin API, codec endpoint, health and
 * metrics on HTTP_HOST:HTTP_PORT, with its intake outbox dispatcher, until SIGINT/SIGTERM. Runs
 * apart from the workers, so a deployment scales API processes and worker hosts separately.
 */
import { loadConfig } from './config.js';
import { createPrisma } from './db/prisma.js';
import { startHttpServer } from './http/server.js';
import { rootLog } from './infra/log.js';
import { connectClient, untilConnected } from './temporal/connect.js';

const config = loadConfig();
const prisma = createPrisma(config.DATABASE_URL);
const client = await untilConnected(connectClient, (msg) => console.warn(`[api] ${msg}`));
const http = await startHttpServer(
  { prisma, temporal: client, temporalUiUrl: config.TEMPORAL_UI_URL, log: rootLog.child({ component: 'api' }) },
  config.HTTP_HOST,
  config.HTTP_PORT,
);
console.log(`[api] listening on ${http.url} (intake ${http.url}/api/bugs, admin ${http.url}/admin)`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  console.log('[api] stopping ...');
  void http
    .close()
    .then(() => Promise.all([prisma.$disconnect(), client.connection.close()]))
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
