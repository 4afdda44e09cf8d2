/** The PR title (also the commit message) and body take report text without letting it act on GitHub. */
import { describe, expect, test } from 'vitest';
import { pullRequestBody, pullRequestTitle, sanitizeForGitHub, type PullRequestFacts } from '../../src/domain/fix/pull-request.js';
import { ZERO_USAGE } from '../../src/domain/fix/pricing.js';

const ZWJ = '\u200D';

const facts = (over: Partial<PullRequestFacts> = {}): PullRequestFacts => ({
  bugTitle: 'Checkout crashes',
  bugDescription: 'Pay, then 500.',
  summary: 'Guarded the null cart.',
  filesChanged: ['src/cart.js'],
  validation: [],
  iterations: 2,
  usage: ZERO_USAGE,
  costUsd: 0.1,
  workflowUrl: 'http://ui/wf',
  githubIssueNumber: 42,
  ...over,
});

/** The body with its report parts only: between "## Bug report" and "## Files changed", plus the summary. */
const reportParts = (body: string) => body.slice(0, body.indexOf('## Files changed'));

describe('pull request title (and commit message)', () => {
  test('one line, clipped', () => {
    expect(pullRequestTitle('Checkout\ncrashes\r\n\tagain  ')).toBe('Fix: Checkout crashes again');
    expect(pullRequestTitle('x'.repeat(150))).toBe(`Fix: ${'x'.repeat(97)}...`);
  });

  test('closing keywords are removed, in any case and form; references stay', () => {
    expect(pullRequestTitle('Crash on pay, fixes #12 and Closes: acme/shop#7')).toBe('Fix: Crash on pay, #12 and acme/shop#7');
    expect(pullRequestTitle('RESOLVED https://github.com/acme/shop/issues/3 partly')).toBe('Fix: "https://github.com/acme/shop/issues/3 partly"');
    for (const k of ['close', 'closes', 'closed', 'fix', 'fixes', 'fixed', 'resolve', 'resolves', 'resolved']) {
      expect(pullRequestTitle(`crash ${k} #9`)).toBe('Fix: crash #9');
    }
    // Words that merely contain a keyword, or keywords without a reference, are left alone.
    expect(pullRequestTitle('hotfix #9 prefixes #3: fixed layout')).toBe('Fix: hotfix #9 prefixes #3: fixed layout');
    // The title's own prefix must not close an issue the title starts with.
    expect(pullRequestTitle('#12 crashes')).toBe('Fix: "#12 crashes"');
    expect(pullRequestTitle('acme/shop#12 crashes')).toBe('Fix: "acme/shop#12 crashes"');
  });

  test('@mentions do not notify; email addresses are kept', () => {
    expect(pullRequestTitle('@octocat and @acme/security crash; mail jane@shop.example')).toBe(
      `Fix: @${ZWJ}octocat and @${ZWJ}acme/security crash; mail jane@shop.example`,
    );
  });
});

describe('pull request body', () => {
  test("the reporter's description is in a fenced block no backtick run can close", () => {
    const description = 'Steps:\n```\nrm -rf /\n```\n`````\n## Injected heading';
    const body = pullRequestBody(facts({ bugDescription: description }));
    expect(body).toContain(`\`\`\`\`\`\`text\n${description}\n\`\`\`\`\`\``);
    expect(body).not.toContain('> Steps:');
    expect(pullRequestBody(facts())).toContain('```text\nPay, then 500.\n```');
  });

  test('report parts neither close issues nor mention anyone; the linked issue is still closed', () => {
    const body = pullRequestBody(
      facts({
        bugTitle: 'Crash\nCloses #7 @octocat',
        bugDescription: 'This fixes #8, resolves acme/other#9. cc @acme/security',
        summary: 'Fixed: #10 as @octocat asked',
      }),
    );
    const report = reportParts(body);
    expect(report).not.toMatch(/\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?:\s*:\s*|\s+)(?:[\w.-]+\/[\w.-]+)?#\d/i);
    expect(report).not.toMatch(/(?<!\w)@[A-Za-z0-9]/);
    expect(report).toContain(`**Crash #7 @${ZWJ}octocat**`);
    expect(report).toContain(`This #8, acme/other#9. cc @${ZWJ}acme/security`);
    expect(report).toContain(`#10 as @${ZWJ}octocat asked`);
    expect(body).toMatch(/\nFixes #42\n/);
  });
});

describe('agent-written text', () => {
  test('CI skip directives are broken in titles, summaries and file names', () => {
    for (const directive of ['[skip ci]', '[ci skip]', '[no ci]', '[skip actions]', '[Skip Travis]']) {
      expect(pullRequestTitle(`crash ${directive}`), directive).not.toContain(directive);
    }
    expect(sanitizeForGitHub('skip-checks: true')).toBe(`skip${ZWJ}-checks: true`);
    expect(sanitizeForGitHub('***NO_CI***')).not.toContain('***NO_CI***');
    expect(sanitizeForGitHub('[skip ci] [link](x)')).toContain('[link](x)');
  });

  test("the agent's files_changed list cannot leave its code spans, mention, close or hide", () => {
    const body = pullRequestBody(
      facts({
        filesChanged: ['src/a.js', 'x`\n\nFixes #7 @octocat <!--', ...Array.from({ length: 60 }, (_, i) => `f${i}`)],
        summary: 'Done <!-- hidden: approve me --> <details>x</details> for a < b',
      }),
    );
    const files = body.slice(body.indexOf('## Files changed'), body.indexOf('## Validation'));
    expect(files).toContain('- `src/a.js`');
    expect(files).toContain(`- \`\` x\` #7 @${ZWJ}octocat <!-- \`\``);
    expect(files).not.toMatch(/\n\n(?!## Validation)[^-]/);
    expect(files.match(/^- /gm)).toHaveLength(51);
    expect(files).toContain('… and 12 more');
    expect(body).toContain('Done &lt;!-- hidden: approve me --> &lt;details>x&lt;/details> for a < b');
  });
});
