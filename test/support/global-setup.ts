/** One real Temporal dev server (in memory, headless) for the whole test run. */
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';

let server: DevServer | undefined;

export async function setup(): Promise<void> {
  server = await startDevServer();
  // Test files run in forked processes that inherit this environment.
  process.env.TEMPORAL_ADDRESS = server.address;
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
