/** Java: boxed Integers compared with !=, equal only inside the Integer cache (-128..127). */
import { evalCase } from '../eval-case.js';
import { testBefore } from '../intended-fix.js';
import report from '../reports/stock-reconcile.json' with { type: 'json' };

const MVN_TEST = 'mvn -B -q -o test';
const SOURCE = 'src/main/java/com/example/inventory/StockReconciler.java';

export const stockReconcileCase = evalCase(
  'stock-reconcile',
  'reference equality',
  report,
  {
    search: { pattern: 'mismatches', file_pattern: '*.java', expectPath: SOURCE },
    read: [SOURCE, 'src/main/java/com/example/inventory/StockTake.java', 'src/test/java/com/example/inventory/StockReconcilerTest.java'],
    tests: {
      command: MVN_TEST,
      // Surefire's summary line; -q prints nothing at all on success, so green is "no [ERROR] line".
      failed: /^\[ERROR\] Tests run: \d+, (Failures: [1-9]|Failures: \d+, Errors: [1-9])/m,
      passed: /^(?![\s\S]*\[ERROR\])/,
      timeoutSeconds: 300,
    },
    failureShows: 'StockReconcilerTest.palletQuantitiesMatchWhenEqual',
    diagnosis:
      'The quantities are Integer objects compared with !=, which compares references. Integer.valueOf caches -128..127 only, so equal quantities above 127 are different objects and count as a mismatch.',
    fix: [
      {
        path: SOURCE,
        old_string: '            if (expected != actual) {',
        new_string:
          '            // Integer objects: != would compare references, equal only within the Integer cache.\n            if (!expected.equals(actual)) {',
      },
    ],
    regressionTest: testBefore(
      'src/test/java/com/example/inventory/StockReconcilerTest.java',
      '    @Test\n    void palletQuantitiesMatchWhenEqual() {',
      '    @Test\n    void equalCountsAbove127AreNotMismatches() {\n        // Regression: Integer counts outside the boxing cache were compared by reference.\n        assertEquals(List.of(), StockReconciler.mismatches(Map.of("Q-1", 1000), Map.of("Q-1", 1000)));\n    }',
    ),
    commitMessage: 'Compare stock quantities by value, not by Integer reference',
    summary:
      '`StockReconciler.mismatches` compared two `Integer`s with `!=`, i.e. by reference. Boxed values are cached only from -128 to 127, so equal counts above 127 (pallets) were reported as mismatches. It now compares with `equals`.',
  },
  {
    ecosystem: 'java',
    environment: {
      toolchains: { java: '17' },
      // A test run that selects no test: compiles, and fetches surefire's JUnit provider, which
      // dependency:go-offline misses; `mvn -o test` then works with no network.
      setup: "mvn -B -q test -Dtest='*#zzzNoSuchTestMethod' -Dsurefire.failIfNoSpecifiedTests=false",
      egress: { presets: ['maven'] },
      cacheKeyFiles: ['pom.xml'],
    },
    validation: { test: MVN_TEST },
    host: {
      prepare: [],
      test: ['mvn', '-B', '-q', 'test'],
      // Surefire's default includes (*Test, Test*, *Tests, *TestCase) skip this class; -Dtest names it.
      acceptance: {
        source: 'stock-reconcile/HiddenAcceptanceCheck.java',
        target: 'src/test/java/com/example/inventory/HiddenAcceptanceCheck.java',
        run: ['mvn', '-B', '-q', 'test', '-Dtest=HiddenAcceptanceCheck'],
      },
    },
  },
);
