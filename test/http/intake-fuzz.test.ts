/**
 * Property: no malformed or hostile intake request (wrong types, huge strings, unicode, injection
 * strings, missing fields, unknown projects, bad credentials or signatures) gets a 5xx, crashes
 * the server or starts a workflow. Every generated case carries at least one defect.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { createApp } from '../../src/http/app.js';
import { signIntakeRequest } from '../../src/intake/hmac.js';
import { issueIntakeKey, upsertProject } from '../../src/projects/project-store.js';
import { connectClient } from '../../src/temporal/connect.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
let temporal: Client;
let server: Server;
let url: string;
let key: string;
let otherKey: string;
let ctlKey: string;
const suffix = Math.random().toString(36).slice(2, 8);
const projectKey = `fuzz-${suffix}`;
/** Where the control-character property files its reports (the first property expects none filed). */
const ctlProjectKey = `fuzz-ctl-${suffix}`;
const mailToken = `mail-${suffix}`;
const mailDomain = `ctl-${suffix}.example`;
const triageIds = new Set<string>();
const projectKeys = [projectKey, `fuzz-other-${suffix}`, ctlProjectKey];

beforeAll(async () => {
  temporal = await connectClient();
  const app = createApp({
    prisma,
    temporal,
    temporalUiUrl: 'http://localhost:8233',
    log: { error: () => undefined },
    // The limiter is tested elsewhere; here every request must reach validation.
    intake: {
      rateLimit: { perSecond: 1e6, burst: 1e6 },
      hmacMaxSkewSeconds: 300,
      emailToken: mailToken,
      emailRoutes: [{ match: mailDomain, project: ctlProjectKey }],
    },
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const p = await upsertProject(prisma, { key: projectKey, name: 'Fuzz', repoOwner: 'acme', repoName: `fuzz-${suffix}` });
  const other = await upsertProject(prisma, { key: `fuzz-other-${suffix}`, name: 'Other', repoOwner: 'acme', repoName: `other-${suffix}` });
  key = await issueIntakeKey(prisma, p.id);
  otherKey = await issueIntakeKey(prisma, other.id);
  const ctl = await upsertProject(prisma, { key: ctlProjectKey, name: 'Control characters', repoOwner: 'acme', repoName: `ctl-${suffix}` });
  ctlKey = await issueIntakeKey(prisma, ctl.id);
});

afterAll(async () => {
  const bugs = await prisma.bugReport.findMany({ where: { project: { key: { in: projectKeys } } } });
  for (const id of [...bugs.map((b) => b.workflowId), ...triageIds])
    await temporal.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
  await prisma.project.deleteMany({ where: { key: { in: projectKeys } } });
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await temporal.connection.close();
  await prisma.$disconnect();
});

const INJECTIONS = [
  '\'; DROP TABLE "BugReport"; --',
  '$(rm -rf /)',
  '`reboot`',
  '| cat /etc/passwd',
  '../../../../etc/shadow',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '${process.exit(1)}',
  '\u0000\u0001\u0002',
  '\u202e\u202dreversed',
  '𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦 ﷽',
  '%00%0d%0aSet-Cookie: x=y',
  'null',
  '__proto__',
];
const hostile = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.constantFrom(...INJECTIONS),
  // 2 bytes per character in UTF-8: from 400 KB to 1.6 MB, around the 1 MB limit.
  fc.integer({ min: 1, max: 4 }).map((n) => 'Ω'.repeat(n * 200_000)),
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** A plausible report with hostile text in its free fields (valid on its own). */
const baseReport = fc.record({
  title: fc.constantFrom('Checkout fails', 'Search broken'),
  description: hostile.map((s) => (s.trim() ? s.slice(0, 40_000) : 'x')),
  reporter: fc.option(fc.constantFrom(...INJECTIONS), { nil: undefined }),
  errorLogs: fc.option(hostile, { nil: undefined }),
});

type Defect = (r: Record<string, unknown>) => unknown;
const defects: fc.Arbitrary<Defect> = fc.oneof(
  wrongType.map((v): Defect => (r) => ({ ...r, title: v })),
  wrongType.map((v): Defect => (r) => ({ ...r, description: v })),
  fc.constantFrom('', '  ', 'ab', ' a ').map((v): Defect => (r) => ({ ...r, title: v })),
  fc.integer({ min: 301, max: 5000 }).map((n): Defect => (r) => ({ ...r, title: 't'.repeat(n) })),
  fc.constant<Defect>(({ description: _d, ...r }) => r),
  fc.constant<Defect>(({ title: _t, ...r }) => r),
  hostile.filter((s) => !['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'].includes(s)).map((v): Defect => (r) => ({ ...r, priority: v })),
  fc.oneof(wrongType, fc.constant(''), fc.constant('e'.repeat(201))).map((v): Defect => (r) => ({ ...r, externalId: v })),
  fc.oneof(hostile, fc.constant(`nope-${suffix}`)).map((v): Defect => (r) => ({ ...r, project: v })),
  fc.oneof(hostile, fc.constant(`acme/nope-${suffix}`)).map((v): Defect => (r) => ({ ...r, repository: v })),
  fc.constant<Defect>((r) => ({ ...r, project: `fuzz-other-${suffix}` })),
  fc.integer({ min: 51, max: 500 }).map((n): Defect => (r) => ({ ...r, source: 's'.repeat(n) })),
  wrongType.map((v): Defect => (r) => ({ ...r, errorLogs: v })),
  fc.constantFrom<unknown>([], 'a string', 42, null, [{ title: 'x' }]).map(
    (v): Defect =>
      () =>
        v,
  ),
);

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
type Auth = (body: string) => Record<string, string>;
const goodAuth: Auth = () => ({ authorization: `Bearer ${key}` });
const badAuth: fc.Arbitrary<Auth> = fc.oneof(
  fc.constant<Auth>(() => ({})),
  printable.map((k): Auth => () => ({ authorization: `Bearer ${k}` })),
  fc.constant<Auth>(() => ({ 'x-api-key': `${key}x` })),
  fc.constant<Auth>((b) => signIntakeRequest(key, `${b} `)),
  fc.constant<Auth>((b) => signIntakeRequest(key, b, Math.floor(Date.now() / 1000) - 3600)),
  fc.constant<Auth>((b) => ({ ...signIntakeRequest(key, b), 'x-bugfix-key-id': signIntakeRequest(otherKey, b)['x-bugfix-key-id']! })),
  printable.map((sig): Auth => (b) => ({ ...signIntakeRequest(key, b), 'x-bugfix-signature': sig })),
  printable.map((ts): Auth => (b) => ({ ...signIntakeRequest(key, b), 'x-bugfix-timestamp': ts })),
  printable.map((id): Auth => (b) => ({ ...signIntakeRequest(key, b), 'x-bugfix-key-id': id })),
);

/** Either good credentials and a defective body, or a valid body and defective credentials. */
const hostileCase = fc.oneof(
  fc.record({ report: baseReport, defect: defects, auth: fc.constant(goodAuth), signed: fc.boolean() }),
  fc.record({ report: baseReport, defect: fc.constant<Defect>((r) => r), auth: badAuth, signed: fc.constant(false) }),
);

test('≥ 200 hostile intake requests: no 5xx, no crash, no workflow', async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(hostileCase, fc.boolean(), async ({ report, defect, auth, signed }, asText) => {
      const body = JSON.stringify(defect({ ...report, externalId: undefined }) ?? null);
      // Signed requests with a defective body still carry a valid signature: validation must catch them.
      const headers = signed ? signIntakeRequest(key, body) : auth(body);
      const res = await request(url)
        .post('/api/bugs')
        .set(headers)
        .set('content-type', asText ? 'text/plain' : 'application/json')
        .send(body);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      expect(res.status, `${res.status} ${JSON.stringify(res.body).slice(0, 300)} for ${body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body.error).toBe('string');
    }),
    {
      numRuns: 250,
      // The rarest class (an unknown project, sent as JSON) made sure of in every run: by chance
      // alone about one run in a hundred drew none, and the check below failed.
      examples: [
        [
          {
            report: { title: 'Checkout fails', description: 'x', reporter: undefined, errorLogs: undefined },
            defect: (r: Record<string, unknown>) => ({ ...r, project: `nope-${suffix}` }),
            auth: goodAuth,
            signed: false,
          },
          false,
        ],
      ],
    },
  );
  // Every class of rejection was exercised.
  expect([...seen.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 403, 413, 422]));
  expect(await prisma.bugReport.count({ where: { project: { key: { in: [projectKey, `fuzz-other-${suffix}`] } } } })).toBe(0);

  // A valid report afterwards: the server is alive, and once visibility shows it, it is the only fix.
  const ok = await request(url)
    .post('/api/bugs')
    .set(goodAuth(''))
    .send({ title: 'Sentinel', description: 'valid', externalId: `sentinel-${suffix}` });
  expect(ok.status).toBe(202);
  const listed = async () => {
    const ids: string[] = [];
    for await (const w of temporal.workflow.list({ query: `ProjectKey = '${projectKey}' OR ProjectKey = 'fuzz-other-${suffix}'` })) ids.push(w.workflowId);
    return ids;
  };
  await expect.poll(listed, { timeout: 20_000 }).toEqual([ok.body.workflowId]);
});

/**
 * Issue #16: NUL (which PostgreSQL refuses in text and jsonb) and every other control character,
 * plus unpaired surrogates (which Prisma cannot send), in every field of every intake route. Each
 * request is either taken (and what was stored is what was sent) or refused with a 400 naming the
 * field; never a 5xx.
 */
const CONTROL = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u0000', '\u0000\u0000', '\u007f', '\u0085', '\u009b', '\u2028', '\ud800', '\udfff', '\u001b[31m'),
);
const controlled = fc
  .tuple(fc.string({ maxLength: 12 }), fc.array(CONTROL, { minLength: 1, maxLength: 4 }), fc.string({ maxLength: 12 }))
  .map(([a, cs, b]) => `Ctl ${a}${cs.join('')}${b} end`);
const unstorable = (s: string) => /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
/** Form bodies travel as UTF-8: an unpaired surrogate arrives as U+FFFD. */
const asSentInForm = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

const BUG_FIELDS = ['title', 'description', 'reproductionSteps', 'errorLogs', 'reporter', 'source', 'externalId', 'project', 'repository', 'priority'] as const;
const WEBHOOK_FIELDS = [
  'title',
  'subject',
  'description',
  'message',
  'body',
  'text',
  'steps',
  'email',
  'reporter',
  'user_name',
  'user',
  'id',
  'ts',
  'trigger_id',
] as const;
const EMAIL_FIELDS = ['Subject', 'TextBody', 'HtmlBody', 'MessageID', 'subject', 'text', 'body-plain'] as const;

type Sent = { res: request.Response; field: string; value: string; stored?: () => Promise<unknown> };

const routes = {
  /** POST /api/bugs (JSON): a valid report with the text in one field. */
  bug: fc.tuple(fc.constantFrom(...BUG_FIELDS), controlled).map(([field, value]) => async (): Promise<Sent> => {
    const body: Record<string, string> = { title: 'Control characters', description: 'in one field', externalId: `ctl-${Math.random()}` };
    body[field] = value;
    const res = await request(url).post('/api/bugs').set('authorization', `Bearer ${ctlKey}`).send(body);
    const column = field as 'title';
    const stored = async () => (await prisma.bugReport.findUniqueOrThrow({ where: { id: res.body.bugId } }))[column];
    return { res, field, value, stored };
  }),
  /** GET /api/bugs/:id with the text in the query string or as the id. */
  status: fc.tuple(fc.boolean(), controlled).map(([inPath, value]) => async (): Promise<Sent> => {
    const id = inPath ? encodeURIComponent(asSentInForm(value)) : '00000000-0000-4000-8000-000000000000';
    const query = inPath ? '' : `?x=${encodeURIComponent(asSentInForm(value))}`;
    const res = await request(url).get(`/api/bugs/${id}${query}`).set('authorization', `Bearer ${ctlKey}`);
    return { res, field: inPath ? '(path)' : '(query).x', value: asSentInForm(value) };
  }),
  /** POST /api/intake/webhook as JSON or form-encoded. */
  webhook: fc.tuple(fc.constantFrom(...WEBHOOK_FIELDS), controlled, fc.boolean()).map(([field, value, form]) => async (): Promise<Sent> => {
    const body: Record<string, string> = { title: 'Control characters', description: 'in one field', id: `ctl-${Math.random()}` };
    body[field] = value;
    const req = request(url).post('/api/intake/webhook').set('authorization', `Bearer ${ctlKey}`);
    const res = await (form ? req.type('form').send(new URLSearchParams(body).toString()) : req.send(body));
    return { res, field, value: form ? asSentInForm(value) : value };
  }),
  /** POST /api/intake/email: provider JSON, or raw MIME with the text in its subject or body. */
  email: fc.tuple(fc.constantFrom(...EMAIL_FIELDS, 'mime-subject', 'mime-body'), controlled).map(([field, value]) => async (): Promise<Sent> => {
    const req = request(url).post('/api/intake/email').set('authorization', `Bearer ${mailToken}`);
    if (field.startsWith('mime-')) {
      const [subject, body] = field === 'mime-subject' ? [value.replace(/[\r\n]/g, ' '), 'in the subject'] : ['Control characters', value];
      const raw = [
        `From: Jane <jane@${mailDomain}>`,
        `Subject: ${subject}`,
        `Message-ID: <${Math.random()}@ctl>`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        body,
        '',
      ].join('\r\n');
      // Taken whatever it holds: a NUL is stored as U+2400 (src/intake/inbound-message.ts).
      return { res: await req.set('content-type', 'message/rfc822').send(Buffer.from(raw, 'utf8')), field, value: '' };
    }
    const body: Record<string, string> = {
      From: `jane@${mailDomain}`,
      Subject: 'Control characters',
      TextBody: 'in one field',
      MessageID: `ctl-${Math.random()}`,
    };
    body[field] = value;
    return { res: await req.send(body), field, value };
  }),
};

test('NUL and control characters in every field of every intake route: taken as sent, or a 400 naming the field', async () => {
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.oneof(routes.bug, routes.status, routes.webhook, routes.email), async (send) => {
      const { res, field, value, stored } = await send();
      const what = `${res.status} ${JSON.stringify(res.body).slice(0, 300)} for ${field}=${JSON.stringify(value)}`;
      seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1);
      expect(res.status, what).toBeLessThan(500);
      if (res.body.triageWorkflowId) triageIds.add(res.body.triageWorkflowId);
      if (unstorable(value)) {
        expect(res.status, what).toBe(400);
        expect(
          res.body.problems.map((p: { path: string }) => p.path),
          what,
        ).toContain(field);
      } else if (res.status === 400) {
        // Refused for another reason (a project key's or a priority's format): named all the same.
        expect(JSON.stringify(res.body), what).toContain(field);
      } else if (stored) {
        expect(res.status, what).toBe(202);
        const trimmed = ['title', 'description', 'externalId'].includes(field) ? value.trim() : value;
        expect(await stored(), what).toBe(trimmed);
      }
    }),
    { numRuns: 200 },
  );
  // Both outcomes happened: taken (202, 404 for status reads) and refused naming the field.
  expect([...seen.keys()], JSON.stringify([...seen])).toEqual(expect.arrayContaining(['202', '400', '404']));
});
