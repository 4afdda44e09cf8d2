/**
 * The local stack's HTTP port, held from before the Temporal dev server starts (its Web UI is told
 * where /codec is) until the API takes the socket over (startHttpServer's `reserved`): the codec
 * endpoint the UI is given is the port really bound, not one found free a moment earlier that
 * another program may have taken while the dev server and the workers started. Until then it
 * answers 503.
 */
import http, { type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';

const listen = (server: net.Server, port: number, host: string, ipv6Only = false) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only }, () => {
      server.off('error', reject);
      resolve();
    });
  });
const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/**
 * The UI reaches the API as `localhost`, which a browser may resolve to ::1 first: a port another
 * program holds there (a dev server bound to "localhost" often is) would send the UI to it.
 */
async function takenOnIpv6Loopback(port: number): Promise<boolean> {
  const probe = net.createServer();
  try {
    await listen(probe, port, '::1', true);
    await close(probe);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EADDRINUSE'; // no IPv6 at all: nobody there
  }
}

/** Listens on `preferred` (0: any) at `host`, or on a port the OS picks when that one is taken. */
export async function reserveHttpPort(preferred: number, host: string): Promise<Server> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = attempt === 0 ? preferred : 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"starting"}');
    });
    try {
      await listen(server, port, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && port !== 0) continue;
      throw err;
    }
    const bound = (server.address() as AddressInfo).port;
    if (!host.includes(':') && (await takenOnIpv6Loopback(bound))) {
      await close(server);
      continue;
    }
    return server;
  }
  throw new Error(`no free HTTP port on ${host}`);
}

/** The codec endpoint a running Temporal Web UI was started with ('' for none); undefined when unreachable. */
export async function uiCodecEndpoint(uiUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(new URL('/api/v1/settings', uiUrl), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    const settings = (await res.json()) as { Codec?: { Endpoint?: string } };
    return settings.Codec?.Endpoint ?? '';
  } catch {
    return undefined;
  }
}
