/**
 * An HTTP API process on its own (`npm run api`): intake, admin API, codec endpoint, health and
 * metrics on HTTP_HOST:HTTP_PORT, with its intake outbox dispatcher, until SIGINT/SIGTERM. Runs
 * apart from the workers, so a deployment scales API processes and worker hosts separately.
 */
import { loadConfig } from './config.js';
import { stopOnSignals } from './infra/stop-on-signals.js';
import { createPrisma } from './db/prisma.js';
import { startHttpServer } from './http/server.js';
import { apiDeps } from './http/deps.js';
import { connectClient, untilConnected } from './temporal/connect.js';

const config = loadConfig();
const prisma = createPrisma(config.DATABASE_URL);
const client = await untilConnected(connectClient, (msg) => console.warn(`[api] ${msg}`));
const http = await startHttpServer(apiDeps(config, prisma, client), config.HTTP_HOST, config.HTTP_PORT);
console.log(`[api] listening on ${http.url} (intake ${http.url}/api/bugs, admin ${http.url}/admin)`);

stopOnSignals(
  (line) => console.log(`[api] ${line}`),
  () => http.close().then(() => Promise.all([prisma.$disconnect(), client.connection.close()])),
);
