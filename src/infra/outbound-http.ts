/**
 * HTTP to URLs that people type in (project notification webhooks, alert channels), guarded
 * against SSRF: https only (http when NOTIFY_ALLOW_HTTP), and never to a private, loopback,
 * link-local, unique-local, unspecified or otherwise non-public address — unless the address is
 * in NOTIFY_ALLOW_NETWORKS (the local stack's and the tests' stand-ins on 127.0.0.1).
 *
 * The check is made on every connection, after DNS, on the address the socket then connects to
 * (an undici connector): a name that resolves to a public address when checked and to 10.0.0.5
 * a moment later (DNS rebinding) is never asked twice, and a redirect is checked like the first
 * request. The admin API checks the URL itself when it is stored (urlRefusal), without DNS.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { loadConfig, outboundPolicyFrom } from '../config.js';
import { Agent, buildConnector, fetch as undiciFetch, type RequestInit, type Response } from 'undici';

export interface OutboundPolicy {
  /** plain http allowed besides https */
  allowHttp: boolean;
  /** CIDRs (or single addresses) a non-public destination may still be in */
  allowNetworks: readonly string[];
}

let memo: { env: string; policy: OutboundPolicy } | undefined;
/** The policy of this process' configuration (re-read when the environment's two variables change). */
export function configuredOutboundPolicy(): OutboundPolicy {
  const env = `${process.env.NOTIFY_ALLOW_HTTP ?? ''}\n${process.env.NOTIFY_ALLOW_NETWORKS ?? ''}`;
  if (memo?.env !== env) memo = { env, policy: outboundPolicyFrom(loadConfig()) };
  return memo.policy;
}

/** A destination the policy refuses: final, retrying cannot change it. */
export class OutboundRefused extends Error {}

type Resolve = (host: string) => Promise<string[]>;
const systemResolve: Resolve = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Parses NOTIFY_ALLOW_NETWORKS entries; a bare address is that address alone. Throws on a bad entry. */
export function parseNetworks(entries: readonly string[]): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  return entries.map((e) => {
    if (e.includes('/')) return ipaddr.parseCIDR(e);
    const ip = ipaddr.parse(e);
    return [ip, ip.kind() === 'ipv4' ? 32 : 128];
  });
}

const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

/** Why this address may not be connected to, or null. IPv4-mapped IPv6 counts as its IPv4 address. */
export function addressRefusal(address: string, policy: OutboundPolicy): string | null {
  const ip = ipaddr.process(unbracket(address));
  // Only plain public unicast: 'private', 'loopback', 'linkLocal', 'uniqueLocal', 'unspecified',
  // 'carrierGradeNat', 'reserved', 6to4/Teredo (which embed IPv4 addresses), multicast…
  const range = ip.range();
  if (range === 'unicast') return null;
  if (parseNetworks(policy.allowNetworks).some(([net_, bits]) => net_.kind() === ip.kind() && ip.match(net_, bits))) return null;
  return `${ip.toString()} is a ${range} address (not public; NOTIFY_ALLOW_NETWORKS can allow it)`;
}

/** Why this URL may not be used as a destination, judged without DNS (scheme, literal address, localhost); or null. */
export function urlRefusal(url: string, policy: OutboundPolicy): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  const https = u.protocol === 'https:' || (u.protocol === 'http:' && policy.allowHttp);
  if (!https) return `only ${policy.allowHttp ? 'https and http' : 'https'} URLs are allowed, not ${u.protocol}`;
  const host = unbracket(u.hostname);
  if (net.isIP(host)) return addressRefusal(host, policy);
  // Resolves to loopback everywhere without asking DNS (RFC 6761).
  if (host === 'localhost' || host.endsWith('.localhost')) return addressRefusal('127.0.0.1', policy) && `${host} is a loopback name`;
  return null;
}

/** Resolves once, refuses when any address of the name is not allowed, and answers the one to connect to. */
async function checkedAddress(host: string, policy: OutboundPolicy, resolve: Resolve): Promise<string> {
  const addresses = net.isIP(host) ? [host] : await resolve(host);
  if (addresses.length === 0) throw new OutboundRefused(`${host} has no address`);
  for (const a of addresses) {
    const refused = addressRefusal(a, policy);
    if (refused) throw new OutboundRefused(`refused to connect to ${host}: ${refused}`);
  }
  return addresses[0]!;
}

/** An undici dispatcher whose every connection goes to a checked address (TLS still verifies the name). */
export function guardedDispatcher(policy: OutboundPolicy, resolve: Resolve = systemResolve): Agent {
  const connect = buildConnector({});
  return new Agent({
    connect: (opts, callback) => {
      checkedAddress(unbracket(opts.hostname), policy, resolve).then(
        // `host` stays the name: the TLS server name (SNI, certificate check) is taken from it.
        (address) => connect({ ...opts, hostname: address }, callback),
        (err: Error) => callback(err, null),
      );
    },
  });
}

export type GuardedFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** fetch() through the guard; a refused destination throws OutboundRefused before any byte is sent. */
export function guardedFetch(policy: OutboundPolicy, resolve?: Resolve): GuardedFetch {
  const dispatcher = guardedDispatcher(policy, resolve);
  return async (url, init) => {
    const refused = urlRefusal(String(url), policy);
    // The origin only: a Slack webhook's path is its secret.
    const origin = URL.canParse(String(url)) ? new URL(String(url)).origin : 'that URL';
    if (refused) throw new OutboundRefused(`refused to send to ${origin}: ${refused}`);
    try {
      return await undiciFetch(url, { ...init, dispatcher });
    } catch (err) {
      throw refusalIn(err) ?? err;
    }
  };
}

const fetches = new Map<string, GuardedFetch>();
/** One guarded fetch (and its connection pool) per policy, for the process. */
export function outboundFetch(policy: OutboundPolicy = configuredOutboundPolicy()): GuardedFetch {
  const key = JSON.stringify(policy);
  let f = fetches.get(key);
  if (!f) fetches.set(key, (f = guardedFetch(policy)));
  return f;
}

/** The OutboundRefused somewhere in an error's cause chain (fetch and SDKs wrap it). */
export function refusalIn(err: unknown): OutboundRefused | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) if (e instanceof OutboundRefused) return e;
  return undefined;
}
