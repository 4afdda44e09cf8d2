/** TypeScript: zod's z.coerce.boolean() is Boolean(value), so the string "false" is true. */
import { evalCase } from '../eval-case.js';
import { testBefore } from '../intended-fix.js';
import report from '../reports/env-config.json' with { type: 'json' };

export const envConfigCase = evalCase(
  'env-config',
  'type coercion',
  report,
  {
    search: { pattern: 'FEATURE_NEW_CHECKOUT', file_pattern: '*.ts', expectPath: 'src/config.ts' },
    read: ['src/config.ts', 'src/features.ts', 'test/config.test.ts'],
    // vitest's summary: "Tests  1 failed | 5 passed (6)" or "Tests  6 passed (6)".
    tests: { command: 'npm test', failed: /^\s*Tests\s+[1-9]\d* failed\b/m, passed: /^\s*Tests\s+\d+ passed \(\d+\)$/m },
    failureShows: 'FEATURE_NEW_CHECKOUT=false keeps the old checkout',
    diagnosis:
      'The switches use z.coerce.boolean(), which is Boolean(value): every non-empty string is true, "false" and "0" included. Environment strings need parsing, which z.stringbool() does.',
    fix: [
      {
        path: 'src/config.ts',
        old_string: 'const envSwitch = z.coerce.boolean().default(false);',
        new_string:
          '// Not z.coerce.boolean(): that is Boolean(value), true for every non-empty string, "false" too.\nconst envSwitch = z.stringbool().default(false);',
      },
    ],
    regressionTest: testBefore(
      'test/config.test.ts',
      "  test('maintenance mode switches every feature off', () => {",
      "  test('a switch set to \"0\" stays off (regression)', () => {\n    expect(enabledFeatures(loadConfig({ FEATURE_GIFT_CARDS: '0' }))).toEqual([]);\n  });",
    ),
    commitMessage: 'Parse on/off switches from the environment with z.stringbool()',
    summary:
      'The feature switches were `z.coerce.boolean()`, which is `Boolean(value)`: any non-empty string, "false" and "0" included, turned a switch on. They are now `z.stringbool()`, which reads true/false, 1/0, yes/no and on/off (unset still means off).',
  },
  {
    ecosystem: 'node',
    environment: {
      toolchains: { node: '20' },
      setup: 'npm ci',
      egress: { presets: ['npm'] },
      cacheKeyFiles: ['package.json', 'package-lock.json'],
    },
    validation: { test: 'npm test' },
    host: {
      prepare: [['npm', 'ci', '--no-audit', '--no-fund']],
      test: ['npm', 'test'],
      // The project's vitest config includes test/** only; this folder brings its own config.
      acceptance: {
        source: 'env-config',
        target: 'hidden-acceptance',
        run: ['npx', 'vitest', 'run', '--root', 'hidden-acceptance', '--config', 'vitest.config.mjs'],
      },
    },
  },
);
