/**
 * Free-text reports (emails, chat messages, web forms) normalized to one shape before triage.
 * Raw MIME goes through mailparser; provider JSON (Postmark, Mailgun/SendGrid-style fields, or
 * { raw: "<MIME>" }) and chat/form webhooks are mapped field by field with zod.
 */
import { simpleParser } from 'mailparser';
import { z } from 'zod';
import { withoutNul } from '../db/jsonb.js';
import { emptyEvidence, headerValues, parseSendgridDkim, type SenderAuthEvidence } from './sender-auth.js';

export type InboundSource = 'email' | 'chat' | 'form';

export interface InboundMessage {
  source: InboundSource;
  /** sender address (email) or user name (chat/form) */
  from: string;
  subject: string;
  text: string;
  /** provider's message id; the basis of idempotency when present */
  messageId?: string;
  /** emails: what the receiving provider says about SPF/DKIM/DMARC (sender-auth.ts) */
  auth?: SenderAuthEvidence;
}

export class InboundMessageError extends Error {}

const MAX_TEXT = 100_000;
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

/** HTML past this is cut before conversion: ample for a report, and bounded work per request. */
const MAX_HTML = 200_000;

/**
 * Tags out (script and style with their content), text kept, in one left-to-right pass. Not
 * regexes: `<[^>]+>` over a run of '<' and `<script[\s\S]*?<\/script>` over repeated '<script '
 * backtrack quadratically, and 100 KB of either blocked the event loop for seconds.
 */
function htmlToText(html: string): string {
  const s = clip(html, MAX_HTML);
  const lower = s.toLowerCase();
  // Where each closing tag was last found: once absent past a point, it is never searched again.
  const closes = new Map<string, number>();
  const closeOf = (tag: string, from: number) => {
    const known = closes.get(tag);
    if (known !== undefined && (known === -1 || known >= from)) return known;
    const at = lower.indexOf(`</${tag}>`, from);
    closes.set(tag, at);
    return at;
  };
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const gt = lt < 0 ? -1 : s.indexOf('>', lt + 1);
    if (gt < 0) {
      // no tag closes after this point: the rest is text
      out.push(s.slice(i));
      break;
    }
    out.push(s.slice(i, lt));
    if (gt === lt + 1) {
      // "<>" is text
      out.push('<');
      i = lt + 1;
      continue;
    }
    const tag = lower.startsWith('script', lt + 1) ? 'script' : lower.startsWith('style', lt + 1) ? 'style' : undefined;
    const close = tag ? closeOf(tag, lt + 1) : -1;
    out.push(' ');
    i = close >= 0 ? close + tag!.length + 3 : gt + 1;
  }
  return out
    .join('')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const emailAddress = z.email();

/** "Jane <jane@example.com>" or "jane@example.com" → the address, validated. */
export function senderAddress(from: string): string {
  const inner = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  const parsed = emailAddress.safeParse(inner.trim().toLowerCase());
  if (!parsed.success) throw new InboundMessageError(`sender is not an email address: ${JSON.stringify(clip(from, 100))}`);
  return parsed.data;
}

function finish(m: {
  source: InboundSource;
  from: string;
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  auth?: SenderAuthEvidence;
}): InboundMessage {
  const text = clip((m.text?.trim() || (m.html ? htmlToText(m.html) : '')).trim(), MAX_TEXT);
  const subject = clip((m.subject?.trim() || text.split('\n')[0] || '').trim(), 300);
  if (!text && !subject) throw new InboundMessageError('the message has neither a subject nor a body');
  // Raw MIME may carry NUL bytes: shown as U+2400 rather than refused, so the message is kept (src/db/jsonb.ts).
  const messageId = m.messageId ? clip(m.messageId, 500) : undefined;
  return withoutNul({ source: m.source, from: m.from, subject, text: text || subject, messageId, ...(m.auth ? { auth: m.auth } : {}) });
}

export async function parseRawEmail(raw: Buffer | string): Promise<InboundMessage> {
  const mail = await simpleParser(raw).catch((err: Error) => {
    throw new InboundMessageError(`not a MIME message: ${err.message}`);
  });
  const from = mail.from?.value[0]?.address;
  if (!from) throw new InboundMessageError('the message has no From address');
  return finish({
    source: 'email',
    from: senderAddress(from),
    subject: mail.subject,
    text: mail.text,
    html: typeof mail.html === 'string' ? mail.html : undefined,
    messageId: mail.messageId,
    auth: evidenceFromHeaderBlock(mail.headerLines.map((h) => h.line).join('\r\n')),
  });
}

/** Authentication-Results and Received-SPF from a raw header block, topmost first. */
function evidenceFromHeaderBlock(block: string): SenderAuthEvidence {
  return { ...emptyEvidence(), authResults: headerValues(block, 'authentication-results'), receivedSpf: headerValues(block, 'received-spf') };
}

/** Header lists as providers send them: Postmark [{Name, Value}], Mailgun [[name, value]] (JSON text). */
function headerBlockOf(list: unknown): string {
  const pairs: Array<[string, string]> = [];
  const items = typeof list === 'string' ? safeJson(list) : list;
  if (!Array.isArray(items)) return '';
  for (const h of items as unknown[]) {
    if (Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string') pairs.push([h[0], h[1]]);
    else if (h && typeof h === 'object' && typeof (h as { Name?: unknown }).Name === 'string')
      pairs.push([(h as { Name: string }).Name, String((h as { Value?: unknown }).Value ?? '')]);
  }
  return pairs.map(([k, v]) => `${k}: ${v.replace(/\r?\n/g, ' ')}`).join('\r\n');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sender-authentication evidence from a provider's JSON fields (see sender-auth.ts for which). */
function providerEvidence(b: z.infer<typeof providerJsonSchema>): SenderAuthEvidence {
  const block = [b.headers ?? '', headerBlockOf(b.Headers), headerBlockOf(b['message-headers'])].filter(Boolean).join('\r\n');
  const e = evidenceFromHeaderBlock(block);
  const envelopeFrom = (safeJson(b.envelope ?? '') as { from?: unknown } | undefined)?.from;
  const spfResult = b.SPF ?? b['X-Mailgun-Spf'];
  if (spfResult) e.spf = { result: spfResult, mailFrom: typeof envelopeFrom === 'string' ? envelopeFrom : b.sender };
  if (b.dkim) e.dkim = parseSendgridDkim(b.dkim);
  return e;
}

const str = z.string().max(2_000_000);
/** MIME wrapped in provider JSON may be as large as MIME posted raw (intake-routes.ts: 10 MB). */
const mimeStr = z.string().max(10 * 1024 * 1024);
const providerJsonSchema = z.looseObject({
  raw: mimeStr.optional(),
  mime: mimeStr.optional(),
  From: str.optional(),
  FromFull: z.looseObject({ Email: str }).optional(),
  from: str.optional(),
  sender: str.optional(),
  Subject: str.optional(),
  subject: str.optional(),
  TextBody: str.optional(),
  text: str.optional(),
  'body-plain': str.optional(),
  plain: str.optional(),
  HtmlBody: str.optional(),
  html: str.optional(),
  'body-html': str.optional(),
  MessageID: str.optional(),
  // Sender authentication (sender-auth.ts): Postmark Headers, Mailgun message-headers and
  // X-Mailgun-Spf, SendGrid headers, SPF, dkim and envelope.
  Headers: z.array(z.unknown()).max(1000).optional(),
  'message-headers': str.optional(),
  headers: str.optional(),
  SPF: str.optional(),
  'X-Mailgun-Spf': str.optional(),
  dkim: str.optional(),
  envelope: str.optional(),
  messageId: str.optional(),
  'Message-Id': str.optional(),
  message_id: str.optional(),
});

export async function parseProviderJson(body: unknown): Promise<InboundMessage> {
  const b = providerJsonSchema.parse(body);
  const raw = b.raw ?? b.mime;
  if (raw) return parseRawEmail(raw);
  const from = b.FromFull?.Email ?? b.From ?? b.from ?? b.sender;
  if (!from) throw new InboundMessageError('no sender: expected From, from or sender (or raw MIME in raw)');
  return finish({
    source: 'email',
    from: senderAddress(from),
    subject: b.Subject ?? b.subject,
    text: b.TextBody ?? b.text ?? b['body-plain'] ?? b.plain,
    html: b.HtmlBody ?? b.html ?? b['body-html'],
    messageId: b.MessageID ?? b.messageId ?? b['Message-Id'] ?? b.message_id,
    auth: providerEvidence(b),
  });
}

/** Chat (Slack-style slash commands, chat widgets) and form webhooks. */
const webhookSchema = z.looseObject({
  title: str.optional(),
  subject: str.optional(),
  description: str.optional(),
  message: str.optional(),
  body: str.optional(),
  text: str.optional(),
  steps: str.optional(),
  email: str.optional(),
  reporter: str.optional(),
  user_name: str.optional(),
  user: str.optional(),
  id: z.union([str, z.number()]).optional(),
  ts: str.optional(),
  message_ts: str.optional(),
  trigger_id: str.optional(),
});

export function parseWebhook(body: unknown): InboundMessage {
  const b = webhookSchema.parse(body);
  const isChat = b.user_name !== undefined || b.trigger_id !== undefined || b.ts !== undefined || b.message_ts !== undefined;
  const text = [b.description ?? b.message ?? b.body ?? b.text, b.steps && `Steps to reproduce:\n${b.steps}`].filter(Boolean).join('\n\n');
  const id = b.id ?? b.message_ts ?? b.ts ?? b.trigger_id;
  return finish({
    source: isChat ? 'chat' : 'form',
    from: clip(b.email ?? b.reporter ?? b.user_name ?? b.user ?? 'unknown', 300),
    subject: b.title ?? b.subject,
    text,
    messageId: id === undefined ? undefined : String(id),
  });
}
