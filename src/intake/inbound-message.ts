/**
 * Free-text reports (emails, chat messages, web forms) normalized to one shape before triage.
 * Raw MIME goes through mailparser; provider JSON (Postmark, Mailgun/SendGrid-style fields, or
 * { raw: "<MIME>" }) and chat/form webhooks are mapped field by field with zod.
 */
import { simpleParser } from 'mailparser';
import { z } from 'zod';

export type InboundSource = 'email' | 'chat' | 'form';

export interface InboundMessage {
  source: InboundSource;
  /** sender address (email) or user name (chat/form) */
  from: string;
  subject: string;
  text: string;
  /** provider's message id; the basis of idempotency when present */
  messageId?: string;
}

export class InboundMessageError extends Error {}

const MAX_TEXT = 100_000;
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

function htmlToText(html: string): string {
  return html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ').replace(/&nbsp;/g, ' ').replace(/\s+/g, ' ').trim();
}

const emailAddress = z.email();

/** "Jane <jane@example.com>" or "jane@example.com" → the address, validated. */
export function senderAddress(from: string): string {
  const inner = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  const parsed = emailAddress.safeParse(inner.trim().toLowerCase());
  if (!parsed.success) throw new InboundMessageError(`sender is not an email address: ${JSON.stringify(clip(from, 100))}`);
  return parsed.data;
}

function finish(m: { source: InboundSource; from: string; subject?: string; text?: string; html?: string; messageId?: string }): InboundMessage {
  const text = clip((m.text?.trim() || (m.html ? htmlToText(m.html) : '')).trim(), MAX_TEXT);
  const subject = clip((m.subject?.trim() || text.split('\n')[0] || '').trim(), 300);
  if (!text && !subject) throw new InboundMessageError('the message has neither a subject nor a body');
  return { source: m.source, from: m.from, subject, text: text || subject, messageId: m.messageId ? clip(m.messageId, 500) : undefined };
}

export async function parseRawEmail(raw: Buffer | string): Promise<InboundMessage> {
  const mail = await simpleParser(raw).catch((err: Error) => {
    throw new InboundMessageError(`not a MIME message: ${err.message}`);
  });
  const from = mail.from?.value[0]?.address;
  if (!from) throw new InboundMessageError('the message has no From address');
  return finish({ source: 'email', from: senderAddress(from), subject: mail.subject, text: mail.text, html: typeof mail.html === 'string' ? mail.html : undefined, messageId: mail.messageId });
}

const str = z.string().max(2_000_000);
const providerJsonSchema = z.looseObject({
  raw: str.optional(), mime: str.optional(),
  From: str.optional(), FromFull: z.looseObject({ Email: str }).optional(), from: str.optional(), sender: str.optional(),
  Subject: str.optional(), subject: str.optional(),
  TextBody: str.optional(), text: str.optional(), 'body-plain': str.optional(), plain: str.optional(),
  HtmlBody: str.optional(), html: str.optional(), 'body-html': str.optional(),
  MessageID: str.optional(), messageId: str.optional(), 'Message-Id': str.optional(), message_id: str.optional(),
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
  });
}

/** Chat (Slack-style slash commands, chat widgets) and form webhooks. */
const webhookSchema = z.looseObject({
  title: str.optional(), subject: str.optional(),
  description: str.optional(), message: str.optional(), body: str.optional(), text: str.optional(), steps: str.optional(),
  email: str.optional(), reporter: str.optional(), user_name: str.optional(), user: str.optional(),
  id: z.union([str, z.number()]).optional(), ts: str.optional(), message_ts: str.optional(), trigger_id: str.optional(),
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
