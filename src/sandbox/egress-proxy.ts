/**
 * The host side of a project's environment setup step, the only phase allowed any network
 * (design/ENVIRONMENT.md, "Egress for a setup step without a container network"). Containers keep
 * NetworkMode 'none'; this HTTP proxy listens on a unix socket whose directory is bind-mounted into
 * the container, where docker/egress-forward.cjs exposes it as http://127.0.0.1:3128. Every request,
 * CONNECT or plain HTTP, is checked against the project's allowlist and recorded either way, so an
 * install that reached for an unexpected host shows up in the fix's record instead of silently
 * working (or silently failing).
 *
 * Built on proxy-chain's Server, with two adjustments for a unix socket (see UnixSocketServer).
 * Upstream connections go straight to the requested host: no upstream proxy, and our own agent so
 * a proxy named in the worker's environment is never picked up.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { RequestError, Server, type PrepareRequestFunction } from 'proxy-chain';

export interface EgressRecord {
  /** ISO time the proxy decided */
  at: string;
  host: string;
  port: number;
  /** CONNECT for tunnels (https), else the plain HTTP method */
  method: string;
  allowed: boolean;
  reason?: string;
}

/** The host:port targets the proxy refused, each once: what a setup's failure and its fix name. */
export function refusedTargets(records: ReadonlyArray<Pick<EgressRecord, 'host' | 'port' | 'allowed'>>): string[] {
  return [...new Set(records.filter((e) => !e.allowed).map((e) => `${e.host}:${e.port}`))];
}

export interface EgressProxy {
  socketPath: string;
  records(): EgressRecord[];
  close(): Promise<void>;
}

export type EgressPreset = 'npm' | 'pypi' | 'go' | 'maven' | 'debian';

/** What each ecosystem's installer needs; a project adds its own hosts (private registries) on top. */
export const EGRESS_PRESETS: Record<EgressPreset, string[]> = {
  npm: ['registry.npmjs.org:443'],
  pypi: ['pypi.org:443', 'files.pythonhosted.org:443'],
  go: ['proxy.golang.org:443', 'sum.golang.org:443'],
  maven: ['repo.maven.apache.org:443', 'repo1.maven.org:443'],
  // apt fetches over plain http by default (packages are signed); 443 for https sources.
  debian: ['deb.debian.org:80', 'deb.debian.org:443'],
};

export function egressAllowlist(presets: readonly EgressPreset[], hosts: readonly string[] = []): string[] {
  return [...new Set([...presets.flatMap((p) => EGRESS_PRESETS[p]), ...hosts].map((e) => e.toLowerCase()))];
}

type Rule = { host: string; port: number };

/** 'host:port' or '*.domain:port'; a port is required, so allowing https never also allows http. */
function parseRule(entry: string): Rule {
  const i = entry.lastIndexOf(':');
  const host = entry.slice(0, i).toLowerCase();
  const port = Number(entry.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`egress allowlist entry "${entry}" is not host:port`);
  return { host, port };
}

// '*.example.com' matches any subdomain depth but not example.com itself: list both if both are meant.
const matches = (r: Rule, host: string, port: number) => r.port === port && (r.host === host || (r.host.startsWith('*.') && host.endsWith(r.host.slice(1))));

/**
 * proxy-chain assumes TCP clients: its onConnection drops any socket without a remoteAddress (a
 * guard for TCP sockets already gone, nodejs/node#23858), and a unix-socket peer never has one, so
 * every request would be closed unanswered. We register the socket as it does, minus that guard.
 * Its own refusals (an unparseable target, `GET https://...` without CONNECT) never reach
 * prepareRequestFunction, so failRequest records those too.
 */
class UnixSocketServer extends Server {
  readonly decided = new WeakSet<IncomingMessage>();
  constructor(
    prepareRequestFunction: PrepareRequestFunction,
    private readonly refused: (req: IncomingMessage, reason: string) => void,
  ) {
    super({ prepareRequestFunction });
  }
  override onConnection(socket: Parameters<Server['onConnection']>[0]): void {
    this.registerConnection(socket);
    // Errors can arrive before a request handler attaches its own listener (proxy-chain #53).
    socket.on('error', () => undefined);
  }
  override failRequest(request: IncomingMessage, error: NodeJS.ErrnoException): void {
    if (!this.decided.has(request)) this.refused(request, error.message);
    super.failRequest(request, error);
  }
}

/**
 * Listens on `socketPath` (mode 0666: the sandbox's uid 1001 must connect; the directory it sits
 * in, bind-mounted into one container, is what limits who can reach it).
 */
export async function startEgressProxy(opts: { socketPath: string; allow: string[]; log?: (r: EgressRecord) => void }): Promise<EgressProxy> {
  const rules = opts.allow.map(parseRule);
  const kept: EgressRecord[] = [];
  const record = (r: Omit<EgressRecord, 'at'>) => {
    const full = { at: new Date().toISOString(), ...r };
    kept.push(full);
    opts.log?.(full);
  };
  const agent = new http.Agent({ keepAlive: false });

  const server: UnixSocketServer = new UnixSocketServer(
    ({ request, hostname, port }) => {
      server.decided.add(request);
      // URL keeps the case of a CONNECT target (connect:// is not a special scheme).
      const host = hostname.toLowerCase();
      const method = request.method ?? '?';
      if (!rules.some((r) => matches(r, host, port))) {
        const reason = `bugfix egress: ${host}:${port} is not on this project's allowlist`;
        record({ host, port, method, allowed: false, reason });
        throw new RequestError(reason, 403);
      }
      record({ host, port, method, allowed: true });
      return { upstreamProxyUrl: null, httpAgent: agent };
    },
    (req, reason) => record({ host: req.url ?? '', port: 0, method: req.method ?? '?', allowed: false, reason }),
  );

  // A socket left by a crashed worker would fail listen() with EADDRINUSE; anything else there is not ours.
  if (fs.lstatSync(opts.socketPath, { throwIfNoEntry: false })?.isSocket()) fs.unlinkSync(opts.socketPath);
  // Not Server.listen(): it takes a TCP port and reads address().port back.
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen(opts.socketPath, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(opts.socketPath, 0o666);

  return {
    socketPath: opts.socketPath,
    records: () => [...kept],
    close: async () => {
      await server.close(true); // also unlinks the socket file
      agent.destroy();
    },
  };
}
