// Lint rules whose main job is keeping workflows/ (and src/domain/, bundled into them) deterministic: no Node built-ins or side-effect
// libraries in workflow code, and no floating promises anywhere (a lost promise in a workflow is
// a lost step).
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'src/generated/**', '.data/**', '.tools/**', 'dev/repos/**', 'bench/eval/acceptance/**'] },
  ...tseslint.configs.recommended,
  // CommonJS run by the sandbox image's own Node 18 (docker/egress-forward.cjs): require is its import.
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Everything the workflow bundle loads: workflows/ and the pure domain code they import.
    files: ['workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows must be deterministic: no Node built-ins (use an activity).' })),
          patterns: [
            {
              group: ['dockerode', '@anthropic-ai/*', '@octokit/*', '@prisma/*', 'pg', 'express', '**/generated/**', '**/db/**', '**/infra/**'],
              message: 'Side effects belong in activities/.',
            },
            { group: ['../activities/*', '../activities/**'], allowTypeImports: true, message: 'Import activities by type only.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop.' },
      ],
    },
  },
);
