/**
 * A clone URL with credentials in it (set through the admin API) never travels in a workflow
 * payload: startFix hands the workflow the URL without them, and the activities that run git get
 * them back from the project's row.
 */
import { afterAll, expect, test } from 'vitest';
import { createFixRecordActivities } from '../../activities/fix-records.js';
import { loadConfig } from '../../src/config.js';
import { createPrisma } from '../../src/db/prisma.js';
import { withStoredCredentials, withoutCredentials } from '../../src/projects/clone-url.js';
import { upsertProject } from '../../src/projects/project-store.js';

const prisma = createPrisma(loadConfig().DATABASE_URL);
afterAll(() => prisma.$disconnect());

test('the workflow gets the clone URL without its token; the activity gets it back', async () => {
  const suffix = Math.random().toString(36).slice(2, 8);
  const withToken = 'https://x-access-token:ghp_secret123@git.example.com/acme/shop.git';
  const project = await upsertProject(prisma, { key: `cred-${suffix}`, name: 'c', repoOwner: 'acme', repoName: 'shop', cloneUrl: withToken });
  const bug = await prisma.bugReport.create({
    data: { projectId: project.id, externalId: suffix, title: 't', description: 'd', workflowId: `bugfix-cred-${suffix}` },
  });

  const context = await createFixRecordActivities({ prisma }).startFix({ bugId: bug.id });
  expect(JSON.stringify(context)).not.toContain('ghp_secret123');
  expect(context.cloneUrl).toBe('https://git.example.com/acme/shop.git');

  expect(await withStoredCredentials(prisma, bug.id, context.cloneUrl)).toBe(withToken);
  // Only the project's own URL gets its credentials: a payload naming another host does not.
  expect(await withStoredCredentials(prisma, bug.id, 'https://attacker.example/acme/shop.git')).toBe('https://attacker.example/acme/shop.git');
  expect(withoutCredentials('https://github.com/acme/shop.git')).toBe('https://github.com/acme/shop.git');
  expect(withoutCredentials('/srv/repos/shop.git')).toBe('/srv/repos/shop.git');
});
