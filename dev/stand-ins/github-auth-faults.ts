/**
 * The GitHub stand-in's front door: credentials checked like GitHub's (a token, or a GitHub App's
 * JWT exchanged for installation tokens), and faults a test injects (error answers, lost
 * responses, held requests). Mounted before every endpoint by github-api.ts.
 */
import { createVerify, randomUUID } from 'node:crypto';
import type express from 'express';

export interface Fault {
  pathPart: string;
  method?: string;
  /** answer with this status instead of serving */
  status?: number;
  retryAfterSeconds?: number;
  message?: string;
  /** serve the request (e.g. create the PR) but answer `status` anyway: a lost response */
  serveThenFail?: boolean;
  /** hold the request this long; a client that goes away meanwhile is never served */
  holdMs?: number;
}

export interface StandInApp {
  appId: string;
  /** PEM public key: the app's JWT (RS256) is verified with it, like GitHub does */
  publicKey: string;
  installationId: number;
}

/** Verifies an RS256 JWT the way GitHub checks an app's: signature, issuer, expiry. */
function validAppJwt(jwt: string, app: StandInApp): boolean {
  const [header, payload, signature] = jwt.split('.');
  if (!header || !payload || !signature) return false;
  const ok = createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(app.publicKey, Buffer.from(signature, 'base64url'));
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss?: string | number; exp?: number };
  return ok && String(claims.iss) === app.appId && (claims.exp ?? 0) * 1000 > Date.now();
}

/** 401 without the stand-in's token or an installation token it minted; mints them for a valid app JWT. */
export function credentials(opts: { token?: string; app?: StandInApp }): express.RequestHandler {
  const installationTokens = new Set<string>();
  return (req, res, next) => {
    const presented = (req.header('authorization') ?? '').replace(/^(token|bearer) /i, '');
    if (opts.app && req.method === 'POST' && req.path === `/app/installations/${opts.app.installationId}/access_tokens`) {
      if (!validAppJwt(presented, opts.app)) return void res.status(401).json({ message: 'A JSON web token could not be decoded' });
      const token = `ghs_installation_${randomUUID().replace(/-/g, '')}`;
      installationTokens.add(token);
      return void res.status(201).json({
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: { contents: 'write', pull_requests: 'write' },
        repository_selection: 'all',
      });
    }
    if ((opts.token || opts.app) && presented !== opts.token && !installationTokens.has(presented)) {
      return void res.status(401).json({ message: 'Bad credentials' });
    }
    next();
  };
}

/** The next request matching a fault's path (and method) gets the fault, once. */
export function faultInjector(): { middleware: express.RequestHandler; add(f: Fault): void; held(): number } {
  const faults: Fault[] = [];
  let held = 0;
  const middleware: express.RequestHandler = async (req, res, next) => {
    const i = faults.findIndex((f) => req.path.includes(f.pathPart) && (!f.method || f.method === req.method));
    if (i < 0) return next();
    const [f] = faults.splice(i, 1) as [Fault];
    if (f.holdMs) {
      held += 1;
      const outcome = await new Promise<'serve' | 'gone'>((resolve) => {
        const timer = setTimeout(() => resolve('serve'), f.holdMs);
        req.socket.once('close', () => {
          clearTimeout(timer);
          resolve('gone');
        });
      });
      held -= 1;
      if (outcome === 'gone') return;
    }
    if (!f.status) return next();
    if (f.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(f.retryAfterSeconds));
    const body = { message: f.message ?? `stand-in injected ${f.status}`, documentation_url: 'https://docs.github.com/rest' };
    if (!f.serveThenFail) return void res.status(f.status).json(body);
    // Serve for real, then replace the answer: what a response lost on the way looks like.
    const json = res.json.bind(res);
    res.json = () => {
      res.statusCode = f.status!;
      return json(body);
    };
    next();
  };
  return { middleware, add: (f) => void faults.push(f), held: () => held };
}
