/**
 * The HTTP API runs as a process of its own (`npm run api`, src/http-main.ts): no worker in it,
 * yet it answers health probes and files reports into the outbox, so API processes and worker
 * hosts scale apart.
 */
import { spawn } from 'node:child_process';
import { afterAll, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';
import { freePort } from '../../src/temporal/dev-server.js';

const children: Array<ReturnType<typeof spawn>> = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

test('npm run api serves the HTTP API without a worker and stops on SIGTERM', async () => {
  const port = await freePort();
  const api = spawn(process.execPath, ['--import', 'tsx', 'src/http-main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(api);
  let output = '';
  api.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  api.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await expect.poll(() => output, { timeout: 60_000 }).toMatch(/\[api\] listening on/);

  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(ready.status, await ready.text()).toBe(200);
  const unauthorised = await fetch(`http://127.0.0.1:${port}/api/bugs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(unauthorised.status).toBe(401);

  const exited = new Promise<number | null>((resolve) => api.once('exit', (code) => resolve(code)));
  api.kill('SIGTERM');
  expect(await exited).toBe(0);
});
