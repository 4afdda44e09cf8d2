/**
 * Runs a fixture's own tests and its hidden acceptance test on the host, with the host's node.
 * The acceptance test lives outside the fixture repository (the agent never sees it); it is copied
 * into a checkout only here, to a path `node --test`'s discovery does not pick up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURE_REPOS } from '../../dev/fixture-remotes.js';

export const ACCEPTANCE_DIR = path.join(import.meta.dirname, 'acceptance');
const HIDDEN_DIR = 'hidden-acceptance';

export interface TestRun {
  passed: boolean;
  exitCode: number | null;
  output: string;
}

function nodeTest(cwd: string, files: string[]): TestRun {
  // argv only, no shell; fixture tests are tiny, a minute is generous.
  const r = spawnSync(process.execPath, ['--test', ...files], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { passed: r.status === 0, exitCode: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export const fixtureRepo = (name: string): string => path.join(FIXTURE_REPOS, name);
export const acceptanceFile = (name: string): string => path.join(ACCEPTANCE_DIR, `${name}.test.js`);

/** The fixture's own suite, the way its `npm test` (`node --test`) discovers it. */
export function runOwnTests(dir: string): TestRun {
  return nodeTest(dir, []);
}

/** The hidden acceptance test of case `name` against the checkout in `dir`. */
export function runAcceptance(dir: string, name: string): TestRun {
  const target = path.join(dir, HIDDEN_DIR, 'acceptance.js');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(acceptanceFile(name), target);
  try {
    return nodeTest(dir, [path.join(HIDDEN_DIR, 'acceptance.js')]);
  } finally {
    fs.rmSync(path.join(dir, HIDDEN_DIR), { recursive: true, force: true });
  }
}
