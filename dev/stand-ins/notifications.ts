/**
 * Stand-ins of the notification services, recording what they receive: a Slack incoming webhook
 * (POST /slack/...), Twilio's Messages API (POST /2010-04-01/Accounts/:sid/Messages.json), any
 * generic webhook (POST /hooks/...) and PagerDuty's Events API v2 (POST /pagerduty/v2/enqueue,
 * so PAGERDUTY_EVENTS_URL=<url>/pagerduty/v2/enqueue), plus a real SMTP server (smtp-server) for email.
 */
import express from 'express';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { listen, type Listening } from './listen.js';

export interface Received {
  path: string;
  headers: Record<string, string | undefined>;
  body: Record<string, unknown>;
  raw: string;
}

export interface NotificationStandIns {
  http: Listening;
  smtpUrl: string;
  slack: Received[];
  twilio: Received[];
  hooks: Received[];
  /** accepted PagerDuty events (202) only; refused ones are in pagerDutyRefused */
  pagerDuty: Received[];
  pagerDutyRefused: Received[];
  /** called after each request a stand-in accepted (benches time deliveries with it) */
  onReceive?: (channel: 'slack' | 'twilio' | 'hooks' | 'pagerduty', r: Received) => void;
  mails: Array<{ from: string; to: string[]; subject: string; text: string; messageId?: string }>;
  /**
   * The next `count` requests to paths containing `pathPart` fail with `status`; with `bodyPart`,
   * only requests whose body (form-decoded) contains it, e.g. one Twilio recipient's number.
   */
  failNext(pathPart: string, status: number, count?: number, bodyPart?: string): void;
  close(): Promise<void>;
}

export async function startNotificationStandIns(): Promise<NotificationStandIns> {
  const slack: Received[] = [];
  const twilio: Received[] = [];
  const hooks: Received[] = [];
  const pagerDuty: Received[] = [];
  const pagerDutyRefused: Received[] = [];
  const mails: NotificationStandIns['mails'] = [];
  const failures: Array<{ pathPart: string; status: number; bodyPart?: string }> = [];
  const app = express();
  app.use(express.raw({ type: () => true, limit: '5mb' }));
  const record = (into: Received[]) => (req: express.Request) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const isForm = (req.header('content-type') ?? '').includes('x-www-form-urlencoded');
    const body = raw ? (isForm ? Object.fromEntries(new URLSearchParams(raw)) : (JSON.parse(raw) as Record<string, unknown>)) : {};
    into.push({ path: req.path, headers: req.headers as Record<string, string | undefined>, body, raw });
  };
  app.use((req, res, next) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const text = (req.header('content-type') ?? '').includes('x-www-form-urlencoded') ? [...new URLSearchParams(raw).values()].join('\n') : raw;
    const i = failures.findIndex((f) => req.path.includes(f.pathPart) && (f.bodyPart === undefined || text.includes(f.bodyPart)));
    if (i < 0) return next();
    const [f] = failures.splice(i, 1);
    res.status(f!.status).send('stand-in injected failure');
  });
  app.post('/slack/*rest', (req, res) => {
    record(slack)(req);
    res.type('text/plain').send('ok');
  });
  app.post('/2010-04-01/Accounts/:sid/Messages.json', (req, res) => {
    record(twilio)(req);
    const body = twilio[twilio.length - 1]!.body;
    res.status(201).json({
      sid: `SM${String(twilio.length).padStart(32, '0')}`,
      account_sid: req.params.sid,
      from: body.From,
      to: body.To,
      body: body.Body,
      status: 'queued',
    });
  });
  app.post('/hooks/*rest', (req, res) => {
    record(hooks)(req);
    res.status(204).end();
    self.onReceive?.('hooks', hooks[hooks.length - 1]!);
  });
  app.post('/pagerduty/v2/enqueue', (req, res) => {
    const into: Received[] = [];
    try {
      record(into)(req);
    } catch {
      pagerDutyRefused.push({ path: req.path, headers: req.headers as Record<string, string | undefined>, body: {}, raw: String(req.body) });
      return void res.status(400).json({ status: 'invalid event', message: 'Event object is invalid', errors: ['Could not parse JSON'] });
    }
    const r = into[0]!;
    const errors = pagerDutyEventErrors(r.body);
    if (errors.length > 0) {
      pagerDutyRefused.push(r);
      return void res.status(400).json({ status: 'invalid event', message: 'Event object is invalid', errors });
    }
    pagerDuty.push(r);
    // Like the real API: a trigger without dedup_key gets one generated.
    const dedupKey = (r.body.dedup_key as string | undefined) ?? `pd-${pagerDuty.length}`;
    res.status(202).json({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
    self.onReceive?.('pagerduty', r);
  });
  const http = await listen(app);

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            messageId: mail.messageId,
          });
          callback();
        })
        .catch(callback);
    },
  });
  const smtpPort = await new Promise<number>((resolve, reject) => {
    smtp.listen(0, '127.0.0.1', () => resolve((smtp.server.address() as { port: number }).port));
    smtp.on('error', reject);
  });

  const self: NotificationStandIns = {
    http,
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    slack,
    twilio,
    hooks,
    pagerDuty,
    pagerDutyRefused,
    mails,
    failNext: (pathPart, status, count = 1, bodyPart) => {
      for (let i = 0; i < count; i++) failures.push({ pathPart, status, bodyPart });
    },
    async close() {
      await http.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
  return self;
}

const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'];

/** The checks PagerDuty's Events API v2 makes before it answers 400 "invalid event". */
export function pagerDutyEventErrors(e: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) errors.push("'routing_key' must be a 32 character integration key");
  const action = e.event_action;
  if (action !== 'trigger' && action !== 'acknowledge' && action !== 'resolve') errors.push("'event_action' must be one of trigger, acknowledge, resolve");
  if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length === 0 || e.dedup_key.length > 255))
    errors.push("'dedup_key' must be a string of at most 255 characters");
  if (action !== 'trigger' && typeof e.dedup_key !== 'string') errors.push(`'dedup_key' is required for ${String(action)}`);
  if (action === 'trigger') {
    const p = e.payload as Record<string, unknown> | undefined;
    if (!p || typeof p !== 'object') errors.push("'payload' is missing or invalid");
    else {
      if (typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024)
        errors.push("'payload.summary' is required (at most 1024 characters)");
      if (typeof p.source !== 'string' || p.source.length === 0) errors.push("'payload.source' is required");
      if (typeof p.severity !== 'string' || !PD_SEVERITIES.includes(p.severity))
        errors.push("'payload.severity' must be one of critical, error, warning, info");
    }
  }
  return errors;
}
