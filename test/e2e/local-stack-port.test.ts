/**
 * `npm start` with its HTTP port taken: the Temporal Web UI must be told the codec endpoint the
 * API really listens on. The UI calls it as `localhost`, which a browser may resolve to ::1 first,
 * so a port another program holds on ::1 (a dev server bound to "localhost") counts as taken: it
 * used to be chosen anyway (free on 127.0.0.1), and the UI's decode requests went to that program.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Stack } from '../../dev/local-stack.js';

const listen = (server: net.Server, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: host.includes(':') }, () => resolve((server.address() as net.AddressInfo).port));
  });
const freePort = async () => {
  const s = net.createServer();
  const port = await listen(s, 0, '127.0.0.1');
  await new Promise((r) => s.close(r));
  return port;
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-port-'));
/** another program on [::1]:<port>, nothing of ours */
const squatter = net.createServer((socket) => socket.end('HTTP/1.1 418 not the codec endpoint\r\ncontent-length: 0\r\n\r\n'));
let taken: number;
let uiPort: number;
let stack: Stack;
const logged: string[] = [];

beforeAll(async () => {
  taken = await listen(squatter, 0, '::1');
  uiPort = await freePort();
  // 'persistent' (npm start) reads these when temporal.config.ts is first imported: set, then import.
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    TEMPORAL_UI_PORT: String(uiPort),
    TEMPORAL_UI_URL: `http://localhost:${uiPort}`,
    TEMPORAL_DB_FILE: path.join(tmp, 'temporal.db'),
  });
  const { startStack } = await import('../../dev/local-stack.js');
  const { paginationScenario } = await import('../../dev/scenarios/pagination.js');
  stack = await startStack({ script: paginationScenario, temporal: 'persistent', httpPort: taken, alertSchedule: false, log: (l) => logged.push(l) });
});

afterAll(async () => {
  await stack?.stop();
  await new Promise((r) => squatter.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the UI is given the codec endpoint of the port the API listens on', async () => {
  const bound = Number(new URL(stack.httpUrl).port);
  expect(bound).not.toBe(taken);
  expect(logged).toContain(`HTTP: port ${taken} is taken, using ${bound} instead`);
  const settings = (await (await fetch(`http://localhost:${uiPort}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
  expect(settings.Codec.Endpoint).toBe(`http://localhost:${bound}/codec`);
  // And that is our codec endpoint (it wants a token), not the other program.
  const res = await fetch(`${stack.httpUrl}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: string }).error).toMatch(/admin token/);
});
