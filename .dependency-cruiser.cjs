/**
 * Layering of the tree (README "Architecture"): a layer imports only layers below it. Checked by
 * `npm test` (`npm run depcruise`); a rule broken fails the run with the import that broke it.
 *
 *   entry points  src/worker-main.ts src/http-main.ts src/cli/ dev/ scripts/ bench/
 *   workflows/    deterministic; activities as types only
 *   activities/   thin activity groups over the drivers
 *   src/          drivers (sandbox, model, infra, db) and services (http, intake, alerts ...)
 *   src/domain/   pure rules, bundled into workflows
 */
const TYPE_ONLY = ['type-only'];
/** What the deterministic workflow bundle may load at run time. */
const WORKFLOW_SAFE = '^(workflows/|src/domain/|node_modules/(@temporalio/(workflow|common)|zod)/)';

module.exports = {
  forbidden: [
    {
      name: 'no-test-imports',
      severity: 'error',
      comment: 'Product code, the offline mode, scripts and benches never import test/: tests import them.',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-bench-imports',
      severity: 'error',
      comment: 'Benches sit on top: only tests may import them.',
      from: { pathNot: '^(bench|test)/' },
      to: { path: '^bench/' },
    },
    {
      name: 'product-not-on-dev',
      severity: 'error',
      comment: 'The offline mode (dev/) is built from the product, never the other way round.',
      from: { path: '^(src|activities|workflows)/' },
      to: { path: '^dev/' },
    },
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment: 'Workflow code loads only workflow code, src/domain and the Temporal workflow API at run time; activities only as types (proxyActivities).',
      from: { path: '^workflows/' },
      to: { pathNot: WORKFLOW_SAFE, dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: 'domain-pure',
      severity: 'error',
      comment: 'src/domain is bundled into workflows: pure code, no I/O, no Node built-ins.',
      from: { path: '^src/domain/' },
      to: { pathNot: '^(src/domain/|node_modules/(@temporalio/(workflow|common)|zod)/)', dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: 'drivers-not-on-activities',
      severity: 'error',
      comment: 'Activities call drivers, not the other way round; only the worker (src/worker.ts) assembles them.',
      from: { path: '^src/', pathNot: '^src/worker\\.ts$' },
      to: { path: '^activities/', dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: 'clients-use-workflow-messages-only',
      severity: 'error',
      comment: 'Clients import the messages of a workflow as values and the workflow function as a type (typed client).',
      from: { pathNot: '^(workflows|test)/' },
      to: { path: '^workflows/', pathNot: '(^|/)(messages|safety-messages)\\.ts$', dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: 'no-runtime-circles',
      severity: 'error',
      comment: 'No import circle made of run-time imports.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: TYPE_ONLY } },
    },
    {
      name: 'no-circles-but-typed-temporal-handles',
      severity: 'error',
      comment:
        'The only circles allowed are the type-only ones a typed Temporal API needs: a client names a ' +
        'workflow function as a type (client.workflow.start<typeof bugFixWorkflow>) and the workflow names its ' +
        'activities as a type (proxyActivities<Activities>, workflows/activity-proxies.ts -> activities/index.ts), ' +
        'while those activities start or signal workflows through the same typed client. Every other circle is an error.',
      from: {},
      to: { circular: true, viaOnly: { path: '^(?!workflows/|activities/index\\.ts$)' } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(src/generated|dev/repos|bench/eval/acceptance)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
