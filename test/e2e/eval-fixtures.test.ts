/**
 * The eval suite's fixtures, proven on the host without Temporal: each fixture's own test and its
 * hidden acceptance test fail on the original code and pass once the case's intended fix (the very
 * edits its scripted scenario sends) is applied, and the scripted model reads the real output of
 * both runs as it will in the sandbox (red showing the reported symptom, then green). A case that
 * fails here would make `npm run eval` measure nothing.
 *
 * Cases of other ecosystems install their dependencies first (npm ci, a venv) and use the host's
 * go and mvn; the registries and the host's caches serve them. Their environment's setup script
 * itself runs only in `npm run eval` (in the sandbox).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EVAL_CASES } from '../../bench/eval/cases/index.js';
import type { EvalCase } from '../../bench/eval/eval-case.js';
import { applyIntendedFix, changedFiles } from '../../bench/eval/intended-fix.js';
import { acceptanceSource, fixtureRepo, prepareCheckout, runAcceptance, runOwnTests } from '../../bench/eval/host-checks.js';
import { showsFailure, showsSuccess } from '../../bench/eval/scripted-fix.js';
import { FIXTURE_REPOS } from '../../dev/fixture-remotes.js';
import type { MessagesRequest } from '../../dev/stand-ins/anthropic-api.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-eval-fixtures-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Fixture', '-c', 'user.email=fixture@example.invalid', ...args], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });

/** A copy of the fixture as a one-commit repository (as the sandbox clones it), dependencies installed. */
const checkoutOf = async (c: EvalCase, label: string) => {
  const dir = path.join(tmp, `${c.name}-${label}`);
  fs.cpSync(fixtureRepo(c.name), dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'Initial commit');
  await prepareCheckout(dir, c);
  return dir;
};

/** A request whose last message carries the given tool results, as the product sends them. */
const withResults = (...contents: string[]): MessagesRequest => ({
  model: 'scripted',
  max_tokens: 1,
  messages: [{ role: 'user', content: contents.map((content, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content })) }],
});

/** What each ecosystem's environment names: its toolchain and its registry. */
const TOOLCHAIN = { node: 'node', python: 'python', go: 'go', java: 'java' } as const;
const PRESET = { node: 'npm', python: 'pypi', go: 'go', java: 'maven' } as const;

describe('eval suite', () => {
  test('at least ten cases, each a different kind of bug, one spanning two files, in four ecosystems', () => {
    expect(EVAL_CASES.length).toBeGreaterThanOrEqual(10);
    expect(new Set(EVAL_CASES.map((c) => c.kind)).size).toBe(EVAL_CASES.length);
    expect(new Set(EVAL_CASES.map((c) => c.name)).size).toBe(EVAL_CASES.length);
    expect(EVAL_CASES.some((c) => changedFiles(c.fix).length >= 2)).toBe(true);
    expect(new Set(EVAL_CASES.map((c) => c.ecosystem))).toEqual(new Set(['node', 'python', 'go', 'java']));
  });
});

// Concurrent: the cases wait on different things (npm ci, pip, a JVM), and the slow ones overlap.
describe.concurrent.each(EVAL_CASES.map((c) => [c.name, c] as const))('eval fixture %s', (name, c) => {
  test('the acceptance test is hidden: outside the repository the agent gets', ({ expect }) => {
    expect(fs.existsSync(acceptanceSource(c))).toBe(true);
    expect(path.relative(FIXTURE_REPOS, acceptanceSource(c)).startsWith('..')).toBe(true);
    expect(fs.existsSync(path.join(fixtureRepo(name), c.host.acceptance.target))).toBe(false);
  });

  test('names its ecosystem, environment and commands', ({ expect }) => {
    // The scripted model runs what the validation gate runs.
    expect(c.plan.tests.command).toBe(c.validation.test);
    const env = c.environment;
    if (!env) {
      // The plain sandbox image: JavaScript without dependencies.
      expect(c.ecosystem).toBe('node');
      const pkg = JSON.parse(fs.readFileSync(path.join(fixtureRepo(name), 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(pkg.dependencies ?? pkg.devDependencies).toBeUndefined();
      return;
    }
    expect(env.toolchains[TOOLCHAIN[c.ecosystem]]).toBeTruthy();
    expect(env.egress?.presets).toContain(PRESET[c.ecosystem]);
    expect(env.setup).toBeTruthy();
    for (const file of env.cacheKeyFiles ?? []) expect(fs.existsSync(path.join(fixtureRepo(name), file)), file).toBe(true);
  });

  test('own test and acceptance test fail before the fix and pass after it; the scripted model reads both runs', async ({ expect }) => {
    const dir = await checkoutOf(c, 'fix');
    const red = await runOwnTests(dir, c);
    expect(showsFailure(c.plan, red.asToolResult), `own test on the original code:\n${red.asToolResult}`).toBe(true);
    expect(showsSuccess(c.plan, red.asToolResult), 'a red run must not read as green').toBe(false);
    // Turn 4 follows that red run; its edit_file calls are the fix.
    const edits = c.scenario(withResults(red.asToolResult), 4).filter((b) => b.type === 'tool_use');
    expect(edits.map((b) => (b.type === 'tool_use' ? b.input : null))).toEqual(c.fix.map((e) => ({ ...e })));
    expect((await runAcceptance(dir, c)).passed, 'acceptance test on the original code').toBe(false);

    applyIntendedFix(dir, c.fix);
    const green = await runOwnTests(dir, c);
    expect(showsSuccess(c.plan, green.asToolResult), `own test after the fix:\n${green.asToolResult}`).toBe(true);
    expect(showsFailure(c.plan, green.asToolResult), 'a green run must not read as red').toBe(false);
    // Turn 6 follows the green run: on to the diff.
    expect(c.scenario(withResults(green.asToolResult), 6)).toEqual([{ type: 'tool_use', name: 'git_diff', input: {} }]);
    const acceptance = await runAcceptance(dir, c);
    expect(acceptance.passed, acceptance.output).toBe(true);

    // What the agent's git_commit (`git add -A`) would take: the fix, and no installed
    // dependency, build output, cache or leftover of the acceptance run.
    const changed = git(dir, 'status', '--porcelain', '--untracked-files=all').split('\n').filter(Boolean);
    expect(changed.sort()).toEqual(
      changedFiles(c.fix)
        .map((f) => ` M ${f}`)
        .sort(),
    );
  });
});

/** The fix's code, without the regression test it comes with (which no acceptance test needs). */
const codeEdits = (c: EvalCase) => c.fix.filter((e) => e !== c.plan.regressionTest);
const multiFile = EVAL_CASES.filter((c) => changedFiles(codeEdits(c)).length > 1);
describe.each(multiFile.map((c) => [c.name, c] as const))('eval fixture %s (spans files)', (name, c) => {
  test('fixing only one of the files is not enough', async () => {
    for (const file of changedFiles(codeEdits(c))) {
      const dir = await checkoutOf(c, `only-${path.basename(file)}`);
      applyIntendedFix(
        dir,
        c.fix.filter((e) => e.path === file),
      );
      expect((await runAcceptance(dir, c)).passed, `only ${file} fixed in ${name}`).toBe(false);
    }
  });
});
