/**
 * The service's production image (scripts/service-image.ts) on the real Docker engine: built
 * offline FROM the sandbox's base image (or reused when its inputs are unchanged), then run with
 * no network: the entry point's usage, its refusal to start a worker without configuration, the
 * worker's whole code and workflow bundle loading from production dependencies, the API starting
 * up to its Temporal connection, the operator CLI and the migration command.
 */
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildServiceImage } from '../../scripts/service-image.js';

const docker = new Docker();
const LABELS = { 'bugfix.scratch': 'service-image' };
/** Deployment settings that point nowhere: containers here have no network. */
const CONFIGURED = [
  'DATABASE_URL=postgresql://bugfix:bugfix@127.0.0.1:1/bugfix',
  'TEMPORAL_ADDRESS=127.0.0.1:1',
  `BUGFIX_PAYLOAD_KEYS=k1:${randomBytes(32).toString('base64')}`,
];

let image: string;
beforeAll(async () => {
  // A cold build compiles the product and sends ~600 MB of context: minutes on a loaded machine.
  image = await buildServiceImage(docker);
}, 900_000);

/** Docker's multiplexed log frames (no TTY) as one text. */
function demux(raw: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= raw.length;) {
    const len = raw.readUInt32BE(i + 4);
    out += raw.subarray(i + 8, i + 8 + len).toString();
    i += 8 + len;
  }
  return out;
}

function create(cmd: string[], env: string[] = []) {
  return docker.createContainer({ Image: image, Cmd: cmd, Env: env, Labels: LABELS, HostConfig: { NetworkMode: 'none' } });
}

/** Runs the image's entry point with these arguments to its end. */
async function run(cmd: string[], env: string[] = []): Promise<{ code: number; out: string }> {
  const container = await create(cmd, env);
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    return { code: StatusCode, out: demux((await container.logs({ stdout: true, stderr: true })) as Buffer) };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

describe('the service image', () => {
  test('is reused, not rebuilt, when nothing changed', async () => {
    const before = (await docker.getImage(image).inspect()).Id;
    const started = Date.now();
    await buildServiceImage(docker);
    expect((await docker.getImage(image).inspect()).Id).toBe(before);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('without a command it prints its usage and exits 2', async () => {
    const { code, out } = await run([]);
    expect(code).toBe(2);
    for (const command of ['worker', 'api', 'migrate', 'check', 'bugfix']) expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  test('a worker without its deployment settings refuses to start and names each one', async () => {
    const { code, out } = await run(['worker']);
    expect(code).toBe(2);
    expect(out).toContain('bugfix-service worker: refusing to start, not configured:');
    for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'BUGFIX_HOST_ID', 'BUGFIX_PAYLOAD_KEYS']) expect(out).toContain(name);
    // With everything but the host id, only that is missing.
    const noHost = await run(['worker'], CONFIGURED);
    expect(noHost).toMatchObject({ code: 2, out: expect.stringMatching(/not configured: BUGFIX_HOST_ID \(/) });
  });

  test('check loads the worker code and builds the workflow bundle from production dependencies only', async () => {
    const { code, out } = await run(['check']);
    expect(out).toMatch(/^check: worker code loaded, workflow bundle of \/app\/workflows\/index\.js is \d+ bytes/m);
    expect(code).toBe(0);
  });

  test('the API parses its configuration, then waits for Temporal', async () => {
    const bad = await run(['api'], [...CONFIGURED, 'HTTP_PORT=eighty']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('Invalid configuration: HTTP_PORT');

    const container = await create(['api'], CONFIGURED);
    try {
      await container.start();
      const logs = async () => demux((await container.logs({ stdout: true, stderr: true })) as Buffer);
      await expect.poll(logs, { timeout: 30_000, interval: 250 }).toContain('[api] Temporal unreachable');
      expect((await container.inspect()).State.Running).toBe(true);
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  });

  test('the operator CLI and the migration command run in it', async () => {
    const cli = await run(['bugfix', '--help']);
    expect(cli).toMatchObject({ code: 0, out: expect.stringContaining('Usage: bugfix') });
    // prisma migrate deploy loads the schema and the config, then finds no database to reach.
    const migrate = await run(['migrate'], CONFIGURED);
    expect(migrate.code).not.toBe(0);
    expect(migrate.out).toContain("Can't reach database server at `127.0.0.1:1`");
  });
});
