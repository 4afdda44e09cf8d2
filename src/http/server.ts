/** Listens: the HTTP intake (and later the admin API) on HTTP_HOST:HTTP_PORT. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppDeps } from './app.js';

export async function startHttpServer(deps: AppDeps, host: string, port: number): Promise<{ server: Server; url: string }> {
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 hands listen errors (EADDRINUSE ...) to this callback.
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `http://${host}:${addr.port}` };
}
