/**
 * sendAlert against real PostgreSQL and the PagerDuty stand-in: a trigger and its resolve are
 * separate dispatches, so a trigger retried past the resolve must not reach PagerDuty, where it
 * would open an incident that nothing resolves.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createAlertActivities } from '../../activities/alerts.js';
import { raiseAlert, resolveAlert } from '../../src/alerts/alert-store.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { alertDeliveryKey, DEFAULT_RULE_SETTINGS, pagerDutyDedupKey } from '../../src/domain/organisation/alert-rules.js';
import { startNotificationStandIns, type NotificationStandIns } from '../../dev/stand-ins/notifications.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
const source = `alert-send-test-${randomUUID().slice(0, 8)}`;
let notif: NotificationStandIns;
let acts: ReturnType<typeof createAlertActivities>;

beforeAll(async () => {
  notif = await startNotificationStandIns();
  acts = createAlertActivities({
    prisma,
    taskQueue: source,
    config: {
      emailFrom: 'bugfix@example.com',
      pagerDuty: { routingKey: 'R0123456789abcdef0123456789abcde', eventsUrl: `${notif.http.url}/pagerduty/v2/enqueue` },
      rules: DEFAULT_RULE_SETTINGS,
      evaluateEverySeconds: 60,
    },
  });
});

afterAll(async () => {
  const alerts = await prisma.alert.findMany({ where: { source }, select: { id: true } });
  await prisma.notificationDelivery.deleteMany({ where: { OR: alerts.map((a) => ({ idempotencyKey: { startsWith: `alert:${a.id}:` } })) } });
  await prisma.alert.deleteMany({ where: { source } });
  await notif.close();
  await prisma.$disconnect();
});

const pdFor = (alertId: string) => notif.pagerDuty.filter((e) => e.body.dedup_key === pagerDutyDedupKey(alertId)).map((e) => e.body.event_action);

test('a trigger that arrives after its alert was resolved is skipped (and recorded as skipped); the resolve still goes out', async () => {
  const now = new Date();
  const { alert } = await raiseAlert(
    prisma,
    { source, dedupeKey: 'rule:queue_backup', rule: 'queue_backup', severity: 'critical', summary: 'queue backed up' },
    now,
    0,
  );
  await resolveAlert(prisma, alert.id, 'test', now);
  const trigger = { alertId: alert.id, action: 'trigger' as const, round: 1, channel: 'pagerduty' as const };

  expect(await acts.sendAlert(trigger)).toEqual({ sent: false });
  const skipped = await prisma.notificationDelivery.findUniqueOrThrow({ where: { idempotencyKey: alertDeliveryKey(alert.id, 'trigger', 1, 'pagerduty') } });
  expect(skipped.response).toMatchObject({ skipped: expect.stringMatching(/resolved/) });
  expect(await acts.sendAlert(trigger)).toEqual({ sent: false }); // its retry too

  expect(await acts.sendAlert({ ...trigger, action: 'resolve' })).toEqual({ sent: true });
  expect(pdFor(alert.id)).toEqual(['resolve']);
});

test('a trigger of an active alert is sent', async () => {
  const { alert } = await raiseAlert(
    prisma,
    { source, dedupeKey: 'rule:high_token_usage', rule: 'high_token_usage', severity: 'critical', summary: 'tokens' },
    new Date(),
    0,
  );
  expect(await acts.sendAlert({ alertId: alert.id, action: 'trigger', round: 1, channel: 'pagerduty' })).toEqual({ sent: true });
  expect(pdFor(alert.id)).toEqual(['trigger']);
});

test('an alert webhook outside the allowed networks is refused for good, before anything is sent (SSRF, issue #16)', async () => {
  const strict = createAlertActivities({
    prisma,
    taskQueue: source,
    config: {
      emailFrom: 'bugfix@example.com',
      webhook: { url: `${notif.http.url}/hooks/alerts`, secret: 'a-very-long-secret-value' },
      outbound: { allowHttp: true, allowNetworks: [] },
      rules: DEFAULT_RULE_SETTINGS,
      evaluateEverySeconds: 60,
    },
  });
  const { alert } = await raiseAlert(
    prisma,
    { source, dedupeKey: 'rule:daily_spend', rule: 'daily_spend', severity: 'warning', summary: 'spend' },
    new Date(),
    0,
  );
  const before = notif.hooks.length;
  const err = await strict.sendAlert({ alertId: alert.id, action: 'trigger', round: 1, channel: 'webhook' }).catch((e: unknown) => e);
  expect(err).toMatchObject({ nonRetryable: true, type: 'DestinationRefused', message: expect.stringMatching(/127\.0\.0\.1 is a loopback address/) });
  expect(notif.hooks.length).toBe(before);
});
