/**
 * Notifications as activities, one per channel so each is retried on its own, deduplicated by an
 * idempotency key recorded in NotificationDelivery after a successful send (WhatsApp: one per
 * recipient). (A crash between the send and the record can repeat that one message: at-least-once,
 * with the window kept to a single insert.) Base URLs and credentials are configuration.
 */
import { IncomingWebhook, type FetchFunction } from '@slack/webhook';
import { ApplicationFailure } from '@temporalio/common';
import nodemailer from 'nodemailer';
import twilio from 'twilio';
import {
  NOTIFICATION_CHANNELS,
  noticeSubject,
  noticeText,
  notificationKey,
  slackEscape,
  type FixNotice,
  type NotificationChannel,
} from '../src/domain/fix/notification.js';
import { Prisma, type PrismaClient } from '../src/db/prisma.js';
import { withoutNul } from '../src/db/jsonb.js';
import { notificationsSchema } from '../src/projects/project-settings.js';
import { activityLog } from '../src/infra/log.js';
import { postSignedWebhook } from '../src/infra/signed-webhook.js';
import { outboundFetch, refusalIn, type OutboundPolicy } from '../src/infra/outbound-http.js';

export interface NotifyConfig {
  smtpUrl?: string;
  emailFrom: string;
  twilio?: { accountSid: string; authToken: string; whatsappFrom: string; apiUrl?: string };
  /** where Slack and webhook notices may go (SSRF guard); default NOTIFY_ALLOW_HTTP / NOTIFY_ALLOW_NETWORKS */
  outbound?: OutboundPolicy;
}

type Settings = ReturnType<typeof notificationsSchema.parse>;

async function settingsOf(prisma: PrismaClient, projectId: string): Promise<Settings> {
  const project = await prisma.project.findUniqueOrThrow({ where: { id: projectId } });
  const parsed = notificationsSchema.safeParse(project.notifications);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`project notification settings are invalid: ${parsed.error.message}`, 'BadNotificationSettings');
  return parsed.data;
}

type Deps = { prisma: PrismaClient; config: NotifyConfig };

async function send(deps: Deps, settings: Settings, channel: NotificationChannel, notice: FixNotice, key: string): Promise<unknown> {
  try {
    return await sendOn(deps, settings, channel, notice, key);
  } catch (err) {
    // A private or non-https destination stays refused however often it is retried.
    const refused = refusalIn(err);
    if (refused) throw ApplicationFailure.nonRetryable(`the project's ${channel} URL is refused: ${refused.message}`, 'DestinationRefused');
    throw err;
  }
}

async function sendOn(deps: Deps, settings: Settings, channel: NotificationChannel, notice: FixNotice, key: string): Promise<unknown> {
  const config = deps.config;
  const http = outboundFetch(config.outbound);
  const text = noticeText(notice);
  switch (channel) {
    case 'slack': {
      // Report text may carry Slack markup (<!channel>, <url|label>): escaped, it shows as typed.
      const result = await new IncomingWebhook(settings.slack!.webhookUrl, { fetch: http as FetchFunction }).send({ text: noticeText(notice, slackEscape) });
      return { text: result.text };
    }
    case 'email': {
      if (!config.smtpUrl) throw ApplicationFailure.nonRetryable('email is configured for the project but SMTP_URL is not set', 'NotConfigured');
      const info = await nodemailer.createTransport(config.smtpUrl).sendMail({
        from: config.emailFrom,
        to: settings.email!.to,
        subject: noticeSubject(notice),
        text,
        messageId: `<${key.replace(/[^A-Za-z0-9.-]/g, '.')}@bugfix>`,
      });
      return { messageId: info.messageId, accepted: info.accepted };
    }
    case 'whatsapp':
      return sendWhatsApp(deps, settings.whatsapp!.to, notice, key, text);
    case 'webhook':
      return postSignedWebhook(http, settings.webhook!.url, settings.webhook!.secret, JSON.stringify({ ...notice, text }), key);
  }
}

/** WhatsApp's deliveries are recorded one per recipient, under `<key>:<number>`, not per channel. */
const RECORDED_PER_RECIPIENT = Symbol('recorded per recipient');

/**
 * One message per recipient, each recorded as it is sent: a retry after recipient 2 failed skips
 * recipient 1 instead of messaging them again. Twilio's 4xx other than 429 (a number it refuses,
 * bad credentials) would fail the same way again: the other recipients are still tried, then the
 * failure is final.
 */
async function sendWhatsApp(deps: Deps, recipients: string[], notice: FixNotice, key: string, text: string): Promise<typeof RECORDED_PER_RECIPIENT> {
  const t = deps.config.twilio;
  if (!t) throw ApplicationFailure.nonRetryable('WhatsApp is configured for the project but TWILIO_* settings are not', 'NotConfigured');
  const client = twilio(t.accountSid, t.authToken);
  // Stand-ins and regional edges: the API base URL is configuration.
  if (t.apiUrl) client.api.baseUrl = t.apiUrl;
  const refused: string[] = [];
  for (const to of recipients) {
    const recipientKey = `${key}:${to}`;
    if (await deps.prisma.notificationDelivery.findUnique({ where: { idempotencyKey: recipientKey } })) continue;
    let sid: string;
    try {
      sid = (await client.messages.create({ from: `whatsapp:${t.whatsappFrom}`, to: `whatsapp:${to}`, body: text })).sid;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      if (status >= 400 && status < 500 && status !== 429) {
        refused.push(`${to} (HTTP ${status}): ${(err as Error).message}`);
        continue;
      }
      throw err;
    }
    await deps.prisma.notificationDelivery.create({
      data: { idempotencyKey: recipientKey, channel: 'whatsapp', event: notice.event, workflowId: notice.workflowId, response: { sid } },
    });
    activityLog({ bugId: notice.bugId }).info({ channel: 'whatsapp', event: notice.event, sid }, 'notification sent');
  }
  if (refused.length) throw ApplicationFailure.nonRetryable(`Twilio refused the WhatsApp message: ${refused.join('; ')}`, 'WhatsAppRejected');
  return RECORDED_PER_RECIPIENT;
}

export function createNotifyActivities(deps: Deps) {
  return {
    async notificationChannels(input: { projectId: string }): Promise<NotificationChannel[]> {
      const settings = await settingsOf(deps.prisma, input.projectId);
      return NOTIFICATION_CHANNELS.filter((c) => settings[c] !== undefined);
    },

    async sendNotification(input: { channel: NotificationChannel; notice: FixNotice }): Promise<{ sent: boolean }> {
      const key = notificationKey(input.notice, input.channel);
      if (await deps.prisma.notificationDelivery.findUnique({ where: { idempotencyKey: key } })) return { sent: false };
      const settings = await settingsOf(deps.prisma, input.notice.projectId);
      const response = await send(deps, settings, input.channel, input.notice, key);
      if (response === RECORDED_PER_RECIPIENT) return { sent: true };
      await deps.prisma.notificationDelivery.create({
        data: {
          idempotencyKey: key,
          channel: input.channel,
          event: input.notice.event,
          workflowId: input.notice.workflowId,
          response: withoutNul(response) as Prisma.InputJsonValue, // the channel's answer, as it sent it
        },
      });
      activityLog({ bugId: input.notice.bugId }).info({ channel: input.channel, event: input.notice.event }, 'notification sent');
      return { sent: true };
    },
  };
}
