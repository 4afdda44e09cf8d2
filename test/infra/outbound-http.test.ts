/**
 * The SSRF guard of notification and alert URLs (issue #16): https only, no private, loopback,
 * link-local or unique-local destination unless allowed, checked on the address each connection
 * really goes to (after DNS, redirects included). Nothing here connects anywhere but 127.0.0.1:
 * names that resolve to private addresses come from a resolver the test passes, and their refusal
 * is an OutboundRefused raised before any socket is opened.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { guardedFetch, OutboundRefused, urlRefusal, type OutboundPolicy } from '../../src/infra/outbound-http.js';

const strict: OutboundPolicy = { allowHttp: false, allowNetworks: [] };
const local: OutboundPolicy = { allowHttp: true, allowNetworks: ['127.0.0.1'] };

let server: http.Server;
let port: number;
const seen: Array<{ host?: string; url?: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ host: req.headers.host, url: req.url });
    if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://10.0.0.5/inside' }).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('urlRefusal (what the admin API checks, without DNS)', () => {
  test.each([
    'https://10.1.2.3/hook',
    'https://172.16.0.1/hook',
    'https://192.168.1.10/hook',
    'https://127.0.0.1/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://0.0.0.0/hook',
    'https://[::1]/hook',
    'https://[fc00::1]/hook',
    'https://[fd12:3456::1]/hook',
    'https://[fe80::1]/hook',
    'https://[::ffff:10.0.0.1]/hook',
    'https://0x7f000001/hook',
    'https://localhost/hook',
    'https://api.localhost/hook',
  ])('%s is refused', (url) => {
    expect(urlRefusal(url, strict)).toMatch(/address|loopback name/);
  });

  test('https to a public name or address is allowed; http only when configured; other schemes never', () => {
    expect(urlRefusal('https://hooks.slack.com/services/T0/B0/x', strict)).toBeNull();
    expect(urlRefusal('https://93.184.215.14/x', strict)).toBeNull();
    expect(urlRefusal('http://hooks.example.com/x', strict)).toMatch(/only https URLs are allowed, not http:/);
    expect(urlRefusal('http://hooks.example.com/x', { ...strict, allowHttp: true })).toBeNull();
    expect(urlRefusal('file:///etc/passwd', { ...strict, allowHttp: true })).toMatch(/not file:/);
    expect(urlRefusal('gopher://10.0.0.1/', strict)).toMatch(/not gopher:/);
  });

  test('an allowed network exempts exactly its addresses', () => {
    expect(urlRefusal('http://127.0.0.1:8080/x', local)).toBeNull();
    expect(urlRefusal('http://localhost:8080/x', local)).toBeNull();
    expect(urlRefusal('http://127.0.0.2/x', local)).toMatch(/127\.0\.0\.2 is a loopback address/);
    expect(urlRefusal('https://10.20.30.40/x', { ...strict, allowNetworks: ['10.20.0.0/16'] })).toBeNull();
    expect(urlRefusal('https://10.21.0.1/x', { ...strict, allowNetworks: ['10.20.0.0/16'] })).toMatch(/private address/);
  });
});

describe('guardedFetch (at send time, after DNS)', () => {
  test('a name resolving to a private address is refused before connecting', async () => {
    const asked: string[] = [];
    const send = guardedFetch(strict, async (host) => (asked.push(host), ['10.0.0.5']));
    const err = await send('https://hooks.example.test/x', { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundRefused);
    expect((err as Error).message).toBe(
      'refused to connect to hooks.example.test: 10.0.0.5 is a private address (not public; NOTIFY_ALLOW_NETWORKS can allow it)',
    );
    expect(asked).toEqual(['hooks.example.test']);
  });

  test('a name with one private address among public ones is refused', async () => {
    const send = guardedFetch(strict, async () => ['93.184.215.14', 'fd00::7']);
    await expect(send('https://mixed.example.test/x')).rejects.toThrow(/fd00::7 is a uniqueLocal address/);
  });

  test('the connection goes to the address that was checked (no second lookup to rebind)', async () => {
    let lookups = 0;
    const send = guardedFetch(local, async () => (lookups++, ['127.0.0.1']));
    const before = seen.length;
    const res = await send(`http://stand-in.example.test:${port}/hello`);
    expect(await res.text()).toBe('ok');
    expect(seen.slice(before)).toEqual([{ host: `stand-in.example.test:${port}`, url: '/hello' }]);
    expect(lookups).toBe(1);
  });

  test('a redirect into a private network is refused, not followed', async () => {
    const send = guardedFetch(local, async () => ['127.0.0.1']);
    const before = seen.length;
    const err = await send(`http://127.0.0.1:${port}/redirect`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundRefused);
    expect((err as Error).message).toMatch(/10\.0\.0\.5 is a private address/);
    expect(seen.slice(before).map((s) => s.url)).toEqual(['/redirect']);
  });

  test('loopback without the allowance is refused before a byte is sent', async () => {
    const before = seen.length;
    await expect(guardedFetch({ allowHttp: true, allowNetworks: [] })(`http://127.0.0.1:${port}/x`)).rejects.toThrow(/127\.0\.0\.1 is a loopback address/);
    await expect(guardedFetch(strict)(`http://127.0.0.1:${port}/x`)).rejects.toThrow(/only https URLs are allowed/);
    expect(seen.length).toBe(before);
  });
});
