/**
 * Stand-ins of the notification services, recording what they receive: a Slack incoming webhook
 * (POST /slack/...), Twilio's Messages API (POST /2010-04-01/Accounts/:sid/Messages.json) and any
 * generic webhook (POST /hooks/...), plus a real SMTP server (smtp-server) for email.
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
  mails: Array<{ from: string; to: string[]; subject: string; text: string; messageId?: string }>;
  /** The next `count` requests to paths containing `pathPart` fail with `status`. */
  failNext(pathPart: string, status: number, count?: number): void;
  close(): Promise<void>;
}

export async function startNotificationStandIns(): Promise<NotificationStandIns> {
  const slack: Received[] = [];
  const twilio: Received[] = [];
  const hooks: Received[] = [];
  const mails: NotificationStandIns['mails'] = [];
  const failures: Array<{ pathPart: string; status: number }> = [];
  const app = express();
  app.use(express.raw({ type: () => true, limit: '5mb' }));
  const record = (into: Received[]) => (req: express.Request) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const isForm = (req.header('content-type') ?? '').includes('x-www-form-urlencoded');
    const body = raw ? (isForm ? Object.fromEntries(new URLSearchParams(raw)) : (JSON.parse(raw) as Record<string, unknown>)) : {};
    into.push({ path: req.path, headers: req.headers as Record<string, string | undefined>, body, raw });
  };
  app.use((req, res, next) => {
    const i = failures.findIndex((f) => req.path.includes(f.pathPart));
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
    res.status(201).json({ sid: `SM${String(twilio.length).padStart(32, '0')}`, account_sid: req.params.sid, from: body.From, to: body.To, body: body.Body, status: 'queued' });
  });
  app.post('/hooks/*rest', (req, res) => {
    record(hooks)(req);
    res.status(204).end();
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

  return {
    http,
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    slack,
    twilio,
    hooks,
    mails,
    failNext: (pathPart, status, count = 1) => {
      for (let i = 0; i < count; i++) failures.push({ pathPart, status });
    },
    async close() {
      await http.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
