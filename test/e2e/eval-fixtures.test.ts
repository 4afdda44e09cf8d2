/**
 * The eval suite's fixtures, proven on the host without Temporal: each fixture's own test and its
 * hidden acceptance test fail on the original code and pass once the case's intended fix (the very
 * edits its scripted scenario sends) is applied. A case that fails here would make `npm run eval`
 * measure nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EVAL_CASES } from '../../bench/eval/cases/index.js';
import { applyIntendedFix, changedFiles } from '../../bench/eval/intended-fix.js';
import { acceptanceFile, fixtureRepo, runAcceptance, runOwnTests } from '../../bench/eval/host-checks.js';
import { FIXTURE_REPOS } from '../../dev/fixture-remotes.js';
import type { MessagesRequest } from '../../dev/stand-ins/anthropic-api.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-eval-fixtures-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const copyOf = (name: string, label: string) => {
  const dir = path.join(tmp, `${name}-${label}`);
  fs.cpSync(fixtureRepo(name), dir, { recursive: true });
  return dir;
};

/** A request whose last message carries the given tool results, as the product sends them. */
const withResults = (...contents: string[]): MessagesRequest => ({
  model: 'scripted',
  max_tokens: 1,
  messages: [{ role: 'user', content: contents.map((content, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content })) }],
});

describe('eval suite', () => {
  test('at least six cases, each a different kind of bug, one spanning two files', () => {
    expect(EVAL_CASES.length).toBeGreaterThanOrEqual(6);
    expect(new Set(EVAL_CASES.map((c) => c.kind)).size).toBe(EVAL_CASES.length);
    expect(EVAL_CASES.some((c) => changedFiles(c.fix).length >= 2)).toBe(true);
  });
});

describe.each(EVAL_CASES.map((c) => [c.name, c] as const))('eval fixture %s', (name, c) => {
  test('the acceptance test is hidden: outside the repository the agent gets', () => {
    expect(fs.existsSync(acceptanceFile(name))).toBe(true);
    expect(path.relative(FIXTURE_REPOS, acceptanceFile(name)).startsWith('..')).toBe(true);
  });

  test('own test and acceptance test fail before the fix and pass after it', () => {
    const dir = copyOf(name, 'fix');
    expect(runOwnTests(dir).passed, 'own test on the original code').toBe(false);
    expect(runAcceptance(dir, name).passed, 'acceptance test on the original code').toBe(false);
    applyIntendedFix(dir, c.fix);
    const own = runOwnTests(dir);
    expect(own.passed, own.output).toBe(true);
    const acceptance = runAcceptance(dir, name);
    expect(acceptance.passed, acceptance.output).toBe(true);
  });

  test('the scripted scenario sends exactly the intended edits', () => {
    // Turn 4 follows a red test run showing the symptom; its edit_file calls are the fix.
    const failing = c.scenario(withResults(`Exit code: 1\n--- stdout ---\n${c.plan.failureShows}\n# fail 1`), 4);
    const edits = failing.filter((b) => b.type === 'tool_use');
    expect(edits.map((b) => (b.type === 'tool_use' ? b.input : null))).toEqual(c.fix.map((e) => ({ ...e })));
  });
});

const multiFile = EVAL_CASES.filter((c) => changedFiles(c.fix).length > 1);
describe.each(multiFile.map((c) => [c.name, c] as const))('eval fixture %s (spans files)', (name, c) => {
  test('fixing only one of the files is not enough', () => {
    for (const file of changedFiles(c.fix)) {
      const dir = copyOf(name, `only-${path.basename(file)}`);
      applyIntendedFix(
        dir,
        c.fix.filter((e) => e.path === file),
      );
      expect(runAcceptance(dir, name).passed, `only ${file} fixed`).toBe(false);
    }
  });
});
