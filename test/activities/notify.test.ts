/**
 * sendNotification against real PostgreSQL and the notification stand-ins: Slack gets report text
 * escaped, WhatsApp records each recipient so a retry does not message earlier ones again, and a
 * recipient Twilio refuses (4xx) is a final failure that does not stop the others.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createNotifyActivities } from '../../activities/notify.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import type { FixNotice } from '../../src/domain/fix/notification.js';
import { upsertProject } from '../../src/projects/project-store.js';
import { startNotificationStandIns, type NotificationStandIns } from '../../dev/stand-ins/notifications.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const suffix = randomUUID().slice(0, 8);
const projectKey = `notify-${suffix}`;
const recipients = ['+15550001111', '+15550002222', '+15550003333'];
let notif: NotificationStandIns;
let acts: ReturnType<typeof createNotifyActivities>;
let projectId: string;
const workflowIds: string[] = [];

beforeAll(async () => {
  notif = await startNotificationStandIns();
  const project = await upsertProject(prisma, {
    key: projectKey,
    name: 'Notify',
    repoOwner: 'acme',
    repoName: `notify-${suffix}`,
    notifications: { slack: { webhookUrl: `${notif.http.url}/slack/T000/B000/${suffix}` }, whatsapp: { to: recipients } },
  });
  projectId = project.id;
  acts = createNotifyActivities({
    prisma,
    config: {
      emailFrom: 'bugfix@example.com',
      twilio: { accountSid: 'AC00000000000000000000000000000000', authToken: 'twilio-test-token', whatsappFrom: '+15550000000', apiUrl: notif.http.url },
    },
  });
});

afterAll(async () => {
  await prisma.notificationDelivery.deleteMany({ where: { workflowId: { in: workflowIds } } });
  await prisma.project.deleteMany({ where: { key: projectKey } });
  await notif.close();
  await prisma.$disconnect();
});

function notice(overrides: Partial<FixNotice> = {}): FixNotice {
  const workflowId = `bugfix-notify-${randomUUID()}`;
  workflowIds.push(workflowId);
  return {
    event: 'pr_opened',
    workflowId,
    bugId: randomUUID(),
    projectId,
    projectKey,
    bugTitle: 'Checkout broken',
    status: 'pr_created',
    prUrl: 'https://github.example/acme/shop/pull/7',
    iterations: 3,
    costUsd: 0.25,
    ...overrides,
  };
}

const toOf = (from: number, n: FixNotice) =>
  notif.twilio
    .slice(from)
    .filter((r) => String(r.body.Body).includes(n.bugTitle))
    .map((r) => r.body.To);

describe('Slack', () => {
  test('markup in report text is escaped, so it shows as typed', async () => {
    const before = notif.slack.length;
    const n = notice({ bugTitle: '<!channel> pay & <https://evil.example|click here>', reason: 'a <@U123> mention' });
    expect(await acts.sendNotification({ channel: 'slack', notice: n })).toEqual({ sent: true });
    const [received] = notif.slack.slice(before);
    expect(received!.body.text).toBe(
      [
        `[${projectKey}] Fix ready for review: &lt;!channel&gt; pay &amp; &lt;https://evil.example|click here&gt;`,
        'Pull request: https://github.example/acme/shop/pull/7',
        'Reason: a &lt;@U123&gt; mention',
        'Iterations: 3, cost: $0.2500',
      ].join('\n'),
    );
  });
});

describe('WhatsApp', () => {
  test('a retry after a later recipient failed does not message the earlier ones again', async () => {
    const before = notif.twilio.length;
    const n = notice({ bugTitle: `retry ${randomUUID()}` });
    notif.failNext('/Messages.json', 503, 1, `whatsapp:${recipients[1]}`);
    await expect(acts.sendNotification({ channel: 'whatsapp', notice: n })).rejects.toMatchObject({ status: 503 });
    expect(toOf(before, n)).toEqual([`whatsapp:${recipients[0]}`]);
    // Temporal's retry of the activity.
    expect(await acts.sendNotification({ channel: 'whatsapp', notice: n })).toEqual({ sent: true });
    expect(toOf(before, n)).toEqual(recipients.map((r) => `whatsapp:${r}`));
    // And once all are recorded, nothing more is sent.
    await acts.sendNotification({ channel: 'whatsapp', notice: n });
    expect(toOf(before, n)).toHaveLength(3);
  });

  test('a recipient Twilio refuses with a 4xx fails for good, after the others are sent', async () => {
    const before = notif.twilio.length;
    const n = notice({ bugTitle: `refused ${randomUUID()}` });
    notif.failNext('/Messages.json', 400, 1, `whatsapp:${recipients[1]}`);
    const err = await acts.sendNotification({ channel: 'whatsapp', notice: n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ nonRetryable: true, type: 'WhatsAppRejected', message: expect.stringContaining(recipients[1]!) });
    expect(toOf(before, n)).toEqual([`whatsapp:${recipients[0]}`, `whatsapp:${recipients[2]}`]);
  });

  test('a 429 stays retryable', async () => {
    const n = notice({ bugTitle: `limited ${randomUUID()}` });
    notif.failNext('/Messages.json', 429, 1, `whatsapp:${recipients[0]}`);
    const err = await acts.sendNotification({ channel: 'whatsapp', notice: n }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ status: 429 });
  });
});

describe('SSRF guard (issue #16)', () => {
  test('a Slack URL outside the allowed networks is refused for good before anything is sent', async () => {
    // The project's stand-in URL is on 127.0.0.1, allowed in tests by NOTIFY_ALLOW_NETWORKS; a
    // worker configured without that allowance must not post there.
    const strict = createNotifyActivities({ prisma, config: { emailFrom: 'bugfix@example.com', outbound: { allowHttp: true, allowNetworks: [] } } });
    const before = notif.slack.length;
    const err = await strict.sendNotification({ channel: 'slack', notice: notice() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ nonRetryable: true, type: 'DestinationRefused', message: expect.stringMatching(/127\.0\.0\.1 is a loopback address/) });
    expect(notif.slack.length).toBe(before);
  });
});
