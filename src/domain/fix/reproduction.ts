/**
 * Reproduction tests: a test the fix added or changed that fails on the base commit and passes
 * with the fix. The service verifies it in the sandbox (never on the model's word); these are the
 * rules around that check: which paths are tests, what the evidence holds, how it reads.
 */

/** Per project: `required` sends a fix without one back to the agent; `preferred` reports; `off` skips the check. */
export const REPRODUCTION_POLICIES = ['required', 'preferred', 'off'] as const;
export type ReproductionPolicy = (typeof REPRODUCTION_POLICIES)[number];
export const DEFAULT_REPRODUCTION_POLICY: ReproductionPolicy = 'preferred';

export function parseReproductionPolicy(value: unknown): ReproductionPolicy {
  return REPRODUCTION_POLICIES.includes(value as ReproductionPolicy) ? (value as ReproductionPolicy) : DEFAULT_REPRODUCTION_POLICY;
}

/**
 * What the check found:
 * - verified: the fix's test files make the base commit's suite fail, and the fix passes it;
 * - no-test-changes: the fix added or changed no test file;
 * - passes-on-base: with the fix's tests, the base commit's suite still passes (they do not reproduce the bug);
 * - no-test-command: the project has no `test` validation gate to run.
 */
export type ReproductionStatus = 'verified' | 'no-test-changes' | 'passes-on-base' | 'no-test-command';

export interface ReproductionEvidence {
  status: ReproductionStatus;
  /** the test files the fix added or changed (as of the fix) */
  testFiles: string[];
  /** the test command, run on the base commit's code with the fix's test files on top */
  baseRun?: { exitCode: number; output: string };
  /** tail of the fix's own passing test gate */
  passingOutput?: string;
  /** the suite failed at the base commit before the fix's tests were added too (reproduction phase) */
  baseAlreadyFailing?: boolean;
}

/** Kept of each output in the evidence (the end of a test run says what failed). */
export const EVIDENCE_OUTPUT_CHARS = 2_000;

export const outputTail = (s: string, max = EVIDENCE_OUTPUT_CHARS): string => (s.length <= max ? s : `[... ${s.length - max} chars cut ...]\n${s.slice(-max)}`);

/**
 * Test files by the conventions of the ecosystems the service runs: test/tests/__tests__/spec
 * folders, *.test.* and *.spec.*, pytest's test_*.py and *_test.py, Go's *_test.go, Maven and
 * Gradle's src/test/ and JUnit's *Test.java / *Tests.java / *IT.java.
 */
export function isTestPath(path: string): boolean {
  const parts = path.split('/');
  const name = parts[parts.length - 1] ?? '';
  const dirs = parts.slice(0, -1);
  if (dirs.some((d) => d === 'test' || d === 'tests' || d === '__tests__' || d === 'spec')) return true;
  if (/\.(test|spec)\.[A-Za-z0-9]+$/.test(name)) return true;
  if (/^test_.*\.py$/.test(name) || /_test\.(py|go)$/.test(name)) return true;
  return /(Test|Tests|IT)\.(java|kt)$/.test(name);
}

/** Splits the fix's changed paths into test files and the rest (the code under test). */
export function splitTestFiles(changed: readonly string[]): { tests: string[]; code: string[] } {
  const tests = changed.filter(isTestPath);
  return { tests, code: changed.filter((p) => !isTestPath(p)) };
}

/** The evidence, completed with what the workflow knows: the fix's passing test gate and the baseline. */
export function completeEvidence(
  e: ReproductionEvidence,
  final: readonly { gate: string; output: string }[],
  baselineTestPassed: boolean | undefined,
): ReproductionEvidence {
  if (e.status !== 'verified') return e;
  const test = final.find((v) => v.gate === 'test');
  return {
    ...e,
    ...(test ? { passingOutput: outputTail(test.output) } : {}),
    ...(baselineTestPassed === false ? { baseAlreadyFailing: true } : {}),
  };
}

/** Feedback to the agent when the project requires a reproduction test and the fix has none that works. */
export function reproductionFeedback(e: ReproductionEvidence): string | null {
  const ask =
    'This project requires a reproduction test: add or change a test that fails on the base commit and passes with your fix, commit it, and call task_complete again.';
  switch (e.status) {
    case 'verified':
    case 'no-test-command':
      return null;
    case 'no-test-changes':
      return `The service found no test file added or changed by your fix. ${ask}`;
    case 'passes-on-base':
      return [
        `The service ran the test command on the base commit's code with your test files on top (${e.testFiles.join(', ')}), and it PASSED: these tests do not reproduce the bug. ${ask}`,
        e.baseRun ? `--- output on the base commit (exit ${e.baseRun.exitCode}) ---\n${e.baseRun.output}` : '',
      ]
        .filter(Boolean)
        .join('\n\n');
  }
}

/** A fenced block longer than any backtick run inside, so test output cannot close it early. */
function fence(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((run) => run.length));
  const f = '`'.repeat(Math.max(3, longest + 1));
  return `${f}text\n${s}\n${f}`;
}

/** The pull request's "Reproduction" section: the test, its failing output before and passing after. */
export function reproductionSection(e: ReproductionEvidence): string[] {
  const heading = ['## Reproduction'];
  switch (e.status) {
    case 'no-test-command':
      return [...heading, 'Not checked: the project has no `test` validation command.', ''];
    case 'no-test-changes':
      return [...heading, 'No reproduction test: the fix adds or changes no test file.', ''];
    case 'passes-on-base':
      return [...heading, `Not verified: with ${fileList(e.testFiles)} the base commit's tests still pass.`, ''];
    case 'verified':
      return [
        ...heading,
        `Verified by the service in the sandbox: ${fileList(e.testFiles)} on the base commit's code fails, and passes with the fix.`,
        ...(e.baseAlreadyFailing ? ["(The base commit's suite already failed before these tests were added: compare the outputs.)"] : []),
        '',
        `<details><summary>Before the fix (exit ${e.baseRun?.exitCode ?? '?'})</summary>`,
        '',
        fence(e.baseRun?.output ?? ''),
        '',
        '</details>',
        '',
        '<details><summary>With the fix</summary>',
        '',
        fence(e.passingOutput ?? ''),
        '',
        '</details>',
        '',
      ];
  }
}

const fileList = (files: readonly string[]) => files.map((f) => `\`${f}\``).join(', ');
