/**
 * Payloads seen by people: a fix filed over HTTP runs on a dev server with its Web UI, whose
 * codec endpoint is our HTTP server's /codec.
 * - In a real browser (Debian's chromium, driven by playwright-core), the UI cannot decode until
 *   it is signed in at /codec/login and its codec settings send cross-origin credentials; then
 *   filtering by the `BugId` search attribute finds the fix and its page shows the decoded input.
 * - `temporal workflow show` prints the history without the report's text, which is really in it:
 *   the same command with the codec endpoint (and a token) prints it.
 */
import { waitForFixStart } from '../../src/fixes/resolve-fix.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startStack, type Stack } from '../../dev/local-stack.js';
import type { FixInput, FixOutcome } from '../../src/domain/fix/fix.js';
import { BugIdKey } from '../../src/domain/fix/search-attributes.js';
import { createAdminToken } from '../../src/http/admin/admin-tokens.js';
import { issueIntakeKey } from '../../src/projects/project-store.js';
import { freePort, startDevServer, temporalCliPath, type DevServer } from '../../src/temporal/dev-server.js';
import { ENCRYPTED_ENCODINGS } from '../../src/temporal/payload-codec.js';
import { taskQueues } from '../../temporal.config.js';
import { createFixtureProject } from '../../dev/fixture-remotes.js';
import { paginationScenario } from '../../dev/scenarios/pagination.js';
import sampleBug from '../../dev/sample-bug.json' with { type: 'json' };

/** Every payload (`{ metadata, data }`) in `temporal workflow show --output json`, its data as text. */
function payloadsOf(json: string): Array<{ encoding: string; text: string }> {
  const found: Array<{ encoding: string; text: string }> = [];
  const b64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '');
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'encoding' in o.metadata) {
      found.push({ encoding: b64((o.metadata as Record<string, unknown>).encoding), text: b64(o.data) });
    }
    Object.values(o).forEach(walk);
  };
  walk(JSON.parse(json));
  return found;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** generous: a loaded 2-core machine runs the dev server, the worker, a sandbox and the browser */
const UI_TIMEOUT = 20_000;

describe('Temporal Web UI and CLI see payloads only through the codec endpoint', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-webui-'));
  const suffix = Math.random().toString(36).slice(2, 8);
  const projectKey = `webui-${suffix}`;
  // A real report, plus a sentence no other test files: what must never show up in plaintext.
  const marker = `Seen first by the warehouse team on ticket WH-${suffix}.`;
  const description = `${sampleBug.description} ${marker}`;
  let server: DevServer;
  let stack: Stack;
  let browser: Browser;
  let httpPort: number;
  let token: string;
  let filed: { bugId: string; workflowId: string };
  let projectId: string;
  let result: Promise<FixOutcome>;
  /** another fix-shaped workflow with another BugId: what the filter must leave out */
  const decoyId = `bugfix-decoy-${suffix}`;

  beforeAll(async () => {
    httpPort = await freePort();
    const uiPort = await freePort();
    // The UI (localhost) and the codec endpoint (localhost) are one site: the UI's fetch may carry
    // the SameSite=Strict sign-in cookie.
    server = await startDevServer({ uiPort, uiCodecEndpoint: `http://localhost:${httpPort}/codec`, logFile: path.join(tmp, 'temporal.log') });
    process.env.TEMPORAL_UI_URL = server.uiUrl;
    stack = await startStack({ script: paginationScenario, temporal: { address: server.address }, httpPort });
    expect(stack.httpUrl).toBe(`http://127.0.0.1:${httpPort}`);

    const { project } = await createFixtureProject(stack.prisma, stack.github, { key: projectKey, repo: 'webui', dir: tmp });
    projectId = project.id;
    const key = await issueIntakeKey(stack.prisma, project.id);
    const res = await fetch(`${stack.httpUrl}/api/bugs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ ...sampleBug, description, externalId: `webui-${suffix}` }),
    });
    expect(res.status).toBe(202);
    filed = (await res.json()) as typeof filed;
    // The fix runs while the browser looks at it.
    // Filed, started a moment later by the intake's dispatcher.
    result = waitForFixStart(stack.temporal, filed.workflowId).then(async (h) => (await h.result()) as FixOutcome);
    result.catch(() => undefined);
    // Nobody polls its queue: it just sits in the list.
    await stack.temporal.workflow.start('bugFixWorkflow', {
      taskQueue: `${taskQueues.main}-decoy`,
      workflowId: decoyId,
      args: [{ bugId: `decoy-${suffix}`, projectId, projectKey } satisfies FixInput],
      typedSearchAttributes: [{ key: BugIdKey, value: `decoy-${suffix}` }],
    });
    token = (await createAdminToken(stack.prisma, `webui-${suffix}`, 'VIEWER')).token;
    browser = await chromium.launch({ executablePath: CHROMIUM, timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await result?.catch(() => undefined);
    await stack?.temporal.workflow
      .getHandle(decoyId)
      .terminate()
      .catch(() => undefined);
    await stack?.stop();
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens the Web UI's Codec Server settings and points this browser at /codec with credentials. */
  async function configureCodec(page: Page) {
    await page.goto(`${server.uiUrl}/namespaces/default/workflows`);
    await page.getByTestId('data-encoder-status-configured').click();
    const dialog = page.locator('dialog#data-encoder-settings');
    await dialog.getByTestId('use-local-endpoint-input').check();
    await dialog.getByTestId('data-encoder-endpoint-input').fill(`http://localhost:${httpPort}/codec`);
    await dialog.getByTestId('data-encoder-include-credentials').click();
    if (!(await dialog.locator('#pass-access-credentials').isChecked())) throw new Error('"Include cross-origin credentials" did not turn on');
    await dialog.getByTestId('confirm-modal-button').click();
    await dialog.waitFor({ state: 'hidden' });
  }

  /** Filters the workflow list by the BugId search attribute and opens the one fix it finds. */
  async function openFixByBugId(page: Page) {
    const fix = page.getByRole('link', { name: filed.workflowId, exact: true });
    const other = page.getByRole('link', { name: decoyId, exact: true });
    // Unfiltered, both are listed (visibility is eventually consistent, and the intake's
    // dispatcher starts the fix a moment after the report is stored: reload until they are).
    await page.goto(`${server.uiUrl}/namespaces/default/workflows`);
    for (let i = 0; ; i++) {
      try {
        await fix.waitFor({ timeout: 5_000 });
        await other.waitFor({ timeout: 5_000 });
        break;
      } catch (err) {
        if (i === 3) throw err;
        await page.reload();
      }
    }
    await page.getByTestId('toggle-manual-query').click();
    const query = page.getByTestId('workflow-manual-search-input');
    await query.fill(`BugId = "${filed.bugId}"`);
    await query.press('Enter');
    await page.waitForURL(/[?&]query=/);
    await other.waitFor({ state: 'detached' });
    await fix.waitFor();
    await fix.click();
    await page.waitForURL(`**/workflows/${filed.workflowId}/**`);
  }

  const decodeResponses = (page: Page) => {
    const seen: Response[] = [];
    page.on('response', (r) => {
      // The UI adds a query (?preserveStorageRefs=true).
      const url = new URL(r.url());
      if (url.origin === `http://localhost:${httpPort}` && url.pathname === '/codec/decode' && r.request().method() === 'POST') seen.push(r);
    });
    return seen;
  };

  test('the UI decodes the fix input once signed in at /codec/login', async () => {
    const context: BrowserContext = await browser.newContext();
    context.setDefaultTimeout(UI_TIMEOUT);
    try {
      const page = await context.newPage();
      const decodes = decodeResponses(page);
      await configureCodec(page);

      // Not signed in: the endpoint refuses, the UI shows no input in plaintext.
      await openFixByBugId(page);
      await vi.waitFor(() => expect(decodes.map((r) => r.status())).toContain(401), { timeout: UI_TIMEOUT, interval: 100 });
      expect(decodes.map((r) => r.status())).not.toContain(200);
      await expect(page.getByText(`"projectId": "${projectId}"`).count()).resolves.toBe(0);

      // Sign in with an admin token (viewer) on the codec endpoint's own page.
      await page.goto(`http://localhost:${httpPort}/codec/login`);
      await page.getByLabel(/Admin token/).fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Signed in' }).waitFor();
      const [cookie] = await context.cookies(`http://localhost:${httpPort}/codec`);
      expect(cookie).toMatchObject({ name: 'bugfix_codec', httpOnly: true, sameSite: 'Strict', path: '/codec' });

      // The same filter and page now show the input decoded: fields only the payload holds.
      const before = decodes.length;
      await openFixByBugId(page);
      await page.getByText(`"projectId": "${projectId}"`).first().waitFor();
      await page.getByText(`"projectKey": "${projectKey}"`).first().waitFor();
      await page.getByText(`"bugId": "${filed.bugId}"`).first().waitFor();
      const after = decodes.slice(before);
      expect(after.length).toBeGreaterThan(0);
      expect(after.map((r) => r.status())).not.toContain(401);
      expect(after.map((r) => r.status())).toContain(200);
      expect(
        await after
          .find((r) => r.status() === 200)!
          .request()
          .headerValue('cookie'),
      ).toContain('bugfix_codec=');
    } catch (err) {
      const shot = path.join(os.tmpdir(), `web-ui-codec-${suffix}.png`);
      await context
        .pages()[0]
        ?.screenshot({ path: shot, fullPage: true })
        .catch(() => undefined);
      throw Object.assign(err as Error, { message: `${(err as Error).message}\n(screenshot: ${shot})` });
    } finally {
      await context.close();
    }
  });

  test('temporal workflow show has no report text; with the codec endpoint it has', async () => {
    const outcome = await result;
    expect(outcome.status).toBe('pr_created');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_CODEC')));
    // Asynchronously: the codec endpoint the CLI calls is served by this very process.
    const show = async (...extra: string[]) =>
      (
        await promisify(execFile)(temporalCliPath(), ['workflow', 'show', '--address', server.address, '--workflow-id', filed.workflowId, ...extra], {
          env,
          maxBuffer: 64 << 20,
          timeout: 30_000,
        })
      ).stdout;
    // JSON output carries every payload's data in base64, plaintext or not: look inside each one.
    const raw = payloadsOf(await show('--output', 'json'));
    expect(raw.filter((p) => ENCRYPTED_ENCODINGS.includes(p.encoding)).length).toBeGreaterThan(5);
    for (const text of [...raw.map((p) => p.text), await show('--detailed')]) {
      expect(text).not.toContain(marker);
      expect(text).not.toContain('starts with the third product');
    }
    // The text is in that history, encrypted: the codec endpoint (with a token) brings it back.
    const decoded = payloadsOf(await show('--output', 'json', '--codec-endpoint', `${stack.httpUrl}/codec`, '--codec-auth', `Bearer ${token}`));
    expect(decoded.filter((p) => ENCRYPTED_ENCODINGS.includes(p.encoding))).toEqual([]);
    expect(decoded.some((p) => p.text.includes(marker))).toBe(true);
  });
});
