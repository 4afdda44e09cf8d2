/**
 * The remote codec endpoint the Temporal Web UI (and `temporal --codec-endpoint`) calls to show
 * encrypted payloads decoded: POST /codec/decode and /codec/encode with the Temporal JSON shape
 * `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`. CORS allows the Web UI's origin only.
 *
 * Who may do what:
 * - decode: an admin token, viewer or above; encode (the UI's and CLI's signal and query
 *   arguments): operator or above, so a viewer cannot mint ciphertext workers would accept. An
 *   empty list (what the CLI sends for a query without arguments) encrypts nothing: any role.
 * - The token is given as `Authorization: Bearer <token>` (scripts, `temporal --codec-auth`), or,
 *   for the Web UI (which cannot send a bearer token of ours), as a codec session: `/codec/login`
 *   (a form, or a POST with the token) sets `bugfix_codec` (HttpOnly, SameSite=Strict,
 *   Path=/codec, Secure over HTTPS, CODEC_SESSION_TTL_S) holding a signed session, not the token
 *   (codec-session.ts). The cookie is honoured only on requests whose Origin is the Web UI's; its
 *   token is looked up (revocation, role) on every request.
 *
 * Decode answers with decryptions of ciphertext only our keys made, and passes through plaintext
 * only in Temporal's own encodings (the SDK's markers, search attributes, histories from before
 * encryption: the UI sends those too), checked for shape; anything else is a 400, and every
 * decryption failure has the one message (no oracle on made-up input).
 */
import express, { Router, type Request, type Response, type NextFunction } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { PrismaClient } from '../db/prisma.js';
import { ENCRYPTED_ENCODINGS, PayloadDecryptError } from '../temporal/payload-codec.js';
import { adminActorById, authenticateAdmin, roleAtLeast, type AdminActor } from './admin/admin-tokens.js';
import type { CodecSessions } from './codec-session.js';
import { HttpError } from './error-handler.js';

const jsonPayloads = z.object({
  // Protobuf JSON leaves an empty list out: the CLI posts `{}` for a query without arguments and
  // for a signal without any. A 400 there failed the query, and made `workflow show` retry until
  // its deadline.
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() }))
    .max(1000)
    .default([]),
});
type JsonPayload = z.infer<typeof jsonPayloads>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export const CODEC_COOKIE = 'bugfix_codec';

/**
 * Plaintext payloads decode may pass through: the encodings Temporal's converters write, each
 * with a check that the data has that shape.
 */
const PLAINTEXT: Record<string, (data: Buffer) => boolean> = {
  'binary/null': (d) => d.length === 0,
  'binary/plain': () => true,
  'binary/protobuf': () => true,
  'json/plain': isJson,
  'json/protobuf': isJson,
};
function isJson(d: Buffer): boolean {
  try {
    JSON.parse(d.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** Refuses what decode must not echo: plaintext it does not know, in a shape it does not have. */
function checkDecodable(payloads: Payload[]): void {
  payloads.forEach((p, i) => {
    const encoding = Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString('utf8');
    if (ENCRYPTED_ENCODINGS.includes(encoding)) return;
    const check = PLAINTEXT[encoding];
    if (!check) throw new HttpError(400, `cannot decode payload ${i}: encoding ${JSON.stringify(encoding)} is neither encrypted nor one of Temporal's`);
    if (!check(Buffer.from(p.data ?? new Uint8Array()))) throw new HttpError(400, `cannot decode payload ${i}: its data is not ${encoding}`);
  });
}

function bearer(req: Request): string {
  const auth = req.header('authorization') ?? '';
  return auth.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : '';
}

function cookie(req: Request, name: string): string {
  for (const part of (req.header('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return ''; // not percent-encoding (e.g. "%"): no cookie of ours, so a 401, not a 500
      }
    }
  }
  return '';
}

function setCodecCookie(req: Request, res: Response, value: string, maxAgeS: number): void {
  const attrs = [`${CODEC_COOKIE}=${encodeURIComponent(value)}`, 'Path=/codec', `Max-Age=${maxAgeS}`, 'HttpOnly', 'SameSite=Strict'];
  // HTTPS as the browser sees it: behind a TLS-terminating proxy, req.secure needs HTTP_TRUST_PROXY.
  if (req.secure) attrs.push('Secure');
  res.append('set-cookie', attrs.join('; '));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: Response, status: number, body: string): void {
  res
    .status(status)
    .type('html')
    .setHeader('content-security-policy', "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .setHeader('cache-control', 'no-store')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>Codec endpoint sign-in</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto">${body}</body></html>`,
    );
}

const loginForm = (error = '') => `<h1>Decode payloads in the Temporal Web UI</h1>
${error ? `<p role="alert" style="color:#b00">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/codec/login">
<label>Admin token (viewer or above) <input name="token" type="password" autocomplete="off" required size="50"></label>
<button type="submit">Sign in</button>
</form>
<p>The browser keeps a short-lived codec session, not the token. Viewers decode; encoding
(signal and query arguments sent from the UI) needs an operator token.</p>`;

export function codecRouter(deps: { prisma: PrismaClient; codec: PayloadCodec; sessions: CodecSessions; uiOrigin: string }): Router {
  const router = Router();
  // 'null' (no usable UI URL) is also what sandboxed frames send: never trust a cookie then.
  const cookieOrigin = deps.uiOrigin !== 'null' ? deps.uiOrigin : undefined;

  // Sign-in for the Web UI: same-origin pages only (a cross-site form must not sign anyone in).
  router.get('/login', (_req, res) => page(res, 200, loginForm()));
  router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), async (req: Request, res: Response) => {
    const origin = req.header('origin');
    if (origin && origin !== `${req.protocol}://${req.header('host')}`) throw new HttpError(403, 'sign in from this server’s own /codec/login page');
    const token = bearer(req) || (typeof req.body?.token === 'string' ? req.body.token.trim() : '');
    const actor = token ? await authenticateAdmin(deps.prisma, token) : null;
    const wantsHtml = req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';
    if (!actor) {
      if (wantsHtml) return page(res, 401, loginForm('That token is unknown or revoked.'));
      throw new HttpError(401, 'the codec endpoint needs an admin token (viewer or above)');
    }
    const session = deps.sessions.issue(actor.tokenId);
    setCodecCookie(req, res, session.value, deps.sessions.ttlSeconds);
    const until = session.expiresAt.toISOString();
    if (!wantsHtml) return void res.json({ name: actor.name, role: actor.role, expiresAt: until });
    const endpoint = `${req.protocol}://${req.header('host')}/codec`;
    page(
      res,
      200,
      `<h1>Signed in</h1>
<p>As <b>${escapeHtml(actor.name)}</b> (${actor.role.toLowerCase()}${roleAtLeast(actor.role, 'OPERATOR') ? ': decode and encode' : ': decode only'}) until ${until}.</p>
<p>In the Temporal Web UI, open <i>Codec Server</i> (top bar), choose <i>Use my browser setting</i>,
set the endpoint to <code>${escapeHtml(endpoint)}</code> and turn on <i>Include cross-origin credentials</i>.</p>
${cookieOrigin ? `<p><a href="${escapeHtml(cookieOrigin)}/">Open the Temporal Web UI</a></p>` : ''}`,
    );
  });
  router.post('/logout', (req, res) => {
    setCodecCookie(req, res, '', 0);
    res.status(204).end();
  });

  router.use((req: Request, res: Response, next: NextFunction) => {
    res.setHeader('access-control-allow-origin', deps.uiOrigin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'content-type, authorization, x-namespace');
    res.setHeader('vary', 'origin');
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  });
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    let actor: AdminActor | null = null;
    const token = bearer(req);
    if (token) actor = await authenticateAdmin(deps.prisma, token);
    else {
      const session = cookie(req, CODEC_COOKIE);
      const tokenId = session && cookieOrigin && req.header('origin') === cookieOrigin ? deps.sessions.verify(session) : null;
      if (tokenId) actor = await adminActorById(deps.prisma, tokenId);
    }
    if (!actor)
      return next(new HttpError(401, 'the codec endpoint needs an admin token (viewer or above): a bearer token, or the Web UI signed in at /codec/login'));
    res.locals.actor = actor;
    next();
  });
  router.post('/encode', async (req, res) => {
    const { payloads } = jsonPayloads.parse(req.body);
    const actor = res.locals.actor as AdminActor;
    if (payloads.length > 0 && !roleAtLeast(actor.role, 'OPERATOR'))
      throw new HttpError(403, `encoding needs the operator role; the token has ${actor.role.toLowerCase()} (viewers may decode)`);
    const out = await deps.codec.encode(payloads.map(fromJson));
    res.json({ payloads: out.map(toJson) });
  });
  router.post('/decode', async (req, res) => {
    const payloads = jsonPayloads.parse(req.body).payloads.map(fromJson);
    checkDecodable(payloads);
    const out = await deps.codec.decode(payloads).catch((err: unknown) => {
      const reason = err instanceof PayloadDecryptError || !(err instanceof Error) ? 'a payload does not decrypt' : err.message;
      throw new HttpError(400, `cannot decode: ${reason}`);
    });
    res.json({ payloads: out.map(toJson) });
  });
  return router;
}
