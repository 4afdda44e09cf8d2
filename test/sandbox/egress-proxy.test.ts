/**
 * The setup step's egress proxy against real parts: proxy-chain on a unix socket, HTTP servers on
 * the host's loopback as the "registries", and real containers of the sandbox image (NetworkMode
 * 'none', uid 1001) reaching them only through the bind-mounted socket and docker/egress-forward.cjs.
 * Nothing here leaves 127.0.0.1: every allowed target is a local server, every other one is denied
 * before any connection is made.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { execInSandbox } from '../../src/sandbox/exec.js';
import { EGRESS_PRESETS, egressAllowlist, startEgressProxy, type EgressProxy, type EgressRecord } from '../../src/sandbox/egress-proxy.js';

const docker = new Docker();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-egress-'));
const socketPath = path.join(tmp, 'proxy.sock');
const FORWARDER = '/usr/local/lib/bugfix/egress-forward.cjs';
const containers: string[] = [];
const logged: EgressRecord[] = [];
let proxy: EgressProxy;
let allowedPort: number;
let deniedPort: number;
const servers: http.Server[] = [];

async function serve(name: string): Promise<number> {
  const s = http.createServer((req, res) => res.end(`${name} says hi to ${req.method} ${req.url}`));
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

/** CONNECT through the proxy's socket, then plain HTTP over the tunnel (what a TLS client would do with TLS). */
function connectThrough(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'CONNECT', path: target });
    req.on('error', reject);
    // A CONNECT response's body arrives as `head` (Node treats any CONNECT response as an upgrade).
    req.on('connect', (res, socket, head) => {
      let body = head.toString();
      socket.on('data', (d: Buffer) => (body += d.toString()));
      socket.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      socket.on('error', reject);
      if (res.statusCode === 200) socket.write(`GET /tunnel HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`);
    });
    req.end();
  });
}

function getThrough(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'GET', path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startContainer(binds: string[]): Promise<string> {
  const c = await docker.createContainer({
    Image: loadConfig().SANDBOX_IMAGE,
    Cmd: ['sleep', 'infinity'],
    User: '1001:1001',
    Labels: { 'bugfix.scratch': 'egress' },
    HostConfig: { NetworkMode: 'none', Binds: binds, ReadonlyRootfs: true },
  });
  containers.push(c.id);
  await c.start();
  return c.id;
}

const run = async (id: string, argv: string[]) => {
  const r = await execInSandbox(docker, id, argv, { timeoutMs: 10_000 });
  return { exitCode: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};
const sh = (id: string, script: string) => run(id, ['bash', '-c', script]);

/** Start the forwarder detached (the exec must end while it keeps running), then wait for its port. */
const START_FORWARDER = `setsid node ${FORWARDER} </dev/null >/dev/null 2>&1 &
for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/3128) 2>/dev/null && exit 0; sleep 0.05; done; exit 1`;

/** Node 18 inside the container: a plain GET and a CONNECT via the forwarder, printed as JSON. */
const clientScript = (ports: number[]) => `
const http = require('http');
const read = (s, done, head) => { let b = head ? head.toString() : ''; s.on('data', (d) => (b += d)); s.on('end', () => done(b)); };
const get = (port) => new Promise((resolve) => {
  const q = http.request({ host: '127.0.0.1', port: 3128, path: 'http://127.0.0.1:' + port + '/plain' }, (res) => read(res, (b) => resolve([res.statusCode, b])));
  q.on('error', (e) => resolve(['ERR', e.code])); q.end();
});
const connect = (port) => new Promise((resolve) => {
  const q = http.request({ host: '127.0.0.1', port: 3128, method: 'CONNECT', path: '127.0.0.1:' + port });
  q.on('connect', (res, s, head) => { read(s, (b) => resolve([res.statusCode, b]), head); if (res.statusCode === 200) s.write('GET /tunnel HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'); });
  q.on('error', (e) => resolve(['ERR', e.code])); q.end();
});
(async () => {
  const out = {};
  for (const p of ${JSON.stringify(ports)}) out[p] = { get: await get(p), connect: await connect(p) };
  console.log(JSON.stringify(out));
})();`;

beforeAll(async () => {
  // The container's uid 1001 must traverse the mounted directory (mkdtemp makes it 0700).
  fs.chmodSync(tmp, 0o755);
  allowedPort = await serve('allowed');
  deniedPort = await serve('denied');
  proxy = await startEgressProxy({
    socketPath,
    allow: [`127.0.0.1:${allowedPort}`, '*.example.com:443', 'Registry.NPMJS.org:443'],
    log: (r) => logged.push(r),
  });
});

afterAll(async () => {
  await Promise.all(containers.map((id) => docker.getContainer(id).remove({ force: true })));
  await proxy?.close();
  for (const s of servers) s.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('egress proxy on the host', () => {
  test('presets and allowlists', () => {
    expect(egressAllowlist(['npm', 'debian'], ['Git.Example.com:443', 'registry.npmjs.org:443'])).toEqual([
      'registry.npmjs.org:443',
      'deb.debian.org:80',
      'deb.debian.org:443',
      'git.example.com:443',
    ]);
    expect(EGRESS_PRESETS.pypi).toEqual(['pypi.org:443', 'files.pythonhosted.org:443']);
    expect(fs.statSync(socketPath).mode & 0o777).toBe(0o666);
  });

  test('CONNECT and plain HTTP to an allowed host:port pass; anything else is refused with 403; all recorded', async () => {
    const since = proxy.records().length;
    expect(await connectThrough(`127.0.0.1:${allowedPort}`)).toMatchObject({ status: 200, body: expect.stringContaining('allowed says hi to GET /tunnel') });
    expect(await getThrough(`http://127.0.0.1:${allowedPort}/plain`)).toMatchObject({ status: 200, body: 'allowed says hi to GET /plain' });

    const denied = await connectThrough(`127.0.0.1:${deniedPort}`);
    expect(denied).toMatchObject({ status: 403, body: `bugfix egress: 127.0.0.1:${deniedPort} is not on this project's allowlist` });
    expect(await getThrough(`http://127.0.0.1:${deniedPort}/plain`)).toMatchObject({ status: 403 });
    // Right host, wrong port; a wildcard covers subdomains, not the domain itself. Denied before any connection.
    expect(await connectThrough(`127.0.0.1:${allowedPort + 1}`)).toMatchObject({ status: 403 });
    expect(await connectThrough('example.com:443')).toMatchObject({ status: 403 });
    // proxy-chain's own refusal (https without CONNECT) is recorded too.
    expect((await getThrough('https://registry.npmjs.org/')).status).toBe(400);

    const recs = proxy.records().slice(since);
    expect(recs.map(({ host, port, method, allowed }) => ({ host, port, method, allowed }))).toEqual([
      { host: '127.0.0.1', port: allowedPort, method: 'CONNECT', allowed: true },
      { host: '127.0.0.1', port: allowedPort, method: 'GET', allowed: true },
      { host: '127.0.0.1', port: deniedPort, method: 'CONNECT', allowed: false },
      { host: '127.0.0.1', port: deniedPort, method: 'GET', allowed: false },
      { host: '127.0.0.1', port: allowedPort + 1, method: 'CONNECT', allowed: false },
      { host: 'example.com', port: 443, method: 'CONNECT', allowed: false },
      { host: 'https://registry.npmjs.org/', port: 0, method: 'GET', allowed: false },
    ]);
    expect(recs[2]!.reason).toMatch(/not on this project's allowlist/);
    expect(recs.every((r) => !Number.isNaN(Date.parse(r.at)))).toBe(true);
    expect(logged.slice(-recs.length)).toEqual(recs);
  });
});

describe('egress from a sandbox container', () => {
  test('with the socket mounted, uid 1001 reaches the allowed server through the forwarder and nothing else', async () => {
    const id = await startContainer([`${tmp}:/egress`]);
    expect(await sh(id, START_FORWARDER)).toMatchObject({ exitCode: 0 });
    const since = proxy.records().length;

    const r = await run(id, ['node', '-e', clientScript([allowedPort, deniedPort])]);
    expect(r.exitCode, r.err).toBe(0);
    const out = JSON.parse(r.out) as Record<number, { get: [number | string, string]; connect: [number | string, string] }>;
    expect(out[allowedPort]!.get).toEqual([200, 'allowed says hi to GET /plain']);
    expect(out[allowedPort]!.connect[0]).toBe(200);
    expect(out[allowedPort]!.connect[1]).toContain('allowed says hi to GET /tunnel');
    expect(out[deniedPort]!.get[0]).toBe(403);
    expect(out[deniedPort]!.connect).toEqual([403, `bugfix egress: 127.0.0.1:${deniedPort} is not on this project's allowlist`]);

    expect(
      proxy
        .records()
        .slice(since)
        .map((x) => [x.port, x.method, x.allowed]),
    ).toEqual([
      [allowedPort, 'GET', true],
      [allowedPort, 'CONNECT', true],
      [deniedPort, 'GET', false],
      [deniedPort, 'CONNECT', false],
    ]);
  });

  test('without the mount, nothing is reachable: no /egress, nothing on 3128, the host loopback is not the container one', async () => {
    const id = await startContainer([]);
    const since = proxy.records().length;
    expect(await sh(id, 'test -e /egress')).toMatchObject({ exitCode: 1 });
    const probe = (port: number) =>
      run(id, [
        'node',
        '-e',
        `require('net').connect(${port}, '127.0.0.1').on('connect', () => console.log('connected')).on('error', (e) => console.log(e.code))`,
      ]);
    expect((await probe(3128)).out.trim()).toBe('ECONNREFUSED');
    expect((await probe(allowedPort)).out.trim()).toBe('ECONNREFUSED');
    // A forwarder started anyway has no socket to reach: the client's connection is dropped.
    expect(await sh(id, START_FORWARDER)).toMatchObject({ exitCode: 0 });
    const r = await run(id, ['node', '-e', clientScript([allowedPort])]);
    expect((JSON.parse(r.out) as Record<number, { get: unknown[] }>)[allowedPort]!.get[0]).toBe('ERR');
    expect(proxy.records().length).toBe(since);
  });
});
