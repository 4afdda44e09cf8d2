/** Go: a child slice appended to its parent's, so siblings share one backing array. */
import { evalCase } from '../eval-case.js';
import { testBefore } from '../intended-fix.js';
import report from '../reports/category-tree.json' with { type: 'json' };

const GO_TEST = 'go test ./...';

export const categoryTreeCase = evalCase(
  'category-tree',
  'slice aliasing',
  report,
  {
    search: { pattern: 'func Breadcrumbs', file_pattern: '*.go', expectPath: 'catalog/breadcrumbs.go' },
    read: ['catalog/breadcrumbs.go', 'catalog/breadcrumbs_test.go'],
    // go test prints "--- FAIL: TestName" per failing test and "ok  <package>" per passing package.
    tests: { command: GO_TEST, failed: /^--- FAIL: /m, passed: /^ok\s+\S+/m },
    failureShows: '--- FAIL: TestBreadcrumbsOfEveryCategory',
    diagnosis:
      "Each trail is append(parent, name). When the parent's trail has spare capacity, append writes into the parent's backing array, so sibling categories share it and the last sibling overwrites the others' last name.",
    fix: [
      {
        path: 'catalog/breadcrumbs.go',
        old_string: '\t\ttrail := append(parent, c.Name)',
        new_string:
          "\t\t// Capacity capped at the length: append must copy, or siblings would share (and\n\t\t// overwrite) the parent's backing array.\n\t\ttrail := append(parent[:len(parent):len(parent)], c.Name)",
      },
    ],
    regressionTest: testBefore(
      'catalog/breadcrumbs_test.go',
      'func TestRender(t *testing.T) {',
      '// Regression: sibling trails below depth 2 shared one backing array.\nfunc TestSiblingTrailsKeepTheirOwnNames(t *testing.T) {\n\tgot := Breadcrumbs(shop())\n\tif diff := cmp.Diff([]string{"Home", "Garden", "Tools", "Shovels"}, got["shovels"]); diff != "" {\n\t\tt.Errorf("Breadcrumbs()[shovels] mismatch (-want +got):\\n%s", diff)\n\t}\n}',
    ),
    commitMessage: 'Give every breadcrumb trail its own backing array',
    summary:
      "`Breadcrumbs` built each trail with `append(parent, c.Name)`. Once a parent trail had spare capacity (from depth 3 on), its children's trails shared one array and the last sibling's name overwrote the others'. The parent slice's capacity is now capped at its length (`parent[:len(parent):len(parent)]`), so append always copies.",
  },
  {
    ecosystem: 'go',
    environment: {
      toolchains: { go: '1.22.5' },
      // Modules, then a build of every package with no test run: the build cache is warm too.
      setup: "go mod download && go test -count=1 -run '^$' ./...",
      egress: { presets: ['go'] },
      cacheKeyFiles: ['go.mod', 'go.sum'],
    },
    validation: { test: GO_TEST },
    host: {
      prepare: [],
      test: ['go', 'test', '-count=1', './...'],
      // ./... skips folders whose name starts with "_": named explicitly, the package is tested.
      acceptance: { source: 'category-tree', target: '_hidden_acceptance', run: ['go', 'test', '-count=1', './_hidden_acceptance'] },
    },
  },
);
