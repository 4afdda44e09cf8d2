/**
 * How long list_files and search_code output may get: short output reads best for a model, so
 * they stop at these counts and say how many more there are.
 */
export const MAX_LISTED_FILES = 200;
export const MAX_SEARCH_MATCHES = 100;

/**
 * rg (its arguments as "$@") cut to its first `max` lines: past them one last line counts the
 * rest, so a cut list is never taken for a whole one. pipefail keeps rg's exit code (1: nothing
 * found, 2: error). A search also counts the files of the rest, by their `path:line:` prefix.
 */
export const LIST_FIRST_LINES =
  `set -o pipefail; rg "$@" | awk -v max=${MAX_LISTED_FILES} 'NR <= max { print; next } { n++ } ` +
  `END { if (n) printf "[... %d more files not shown; narrow the path or pattern]\\n", n }'`;
export const SEARCH_FIRST_LINES =
  `set -o pipefail; rg "$@" | awk -v max=${MAX_SEARCH_MATCHES} 'NR <= max { print; next } ` +
  `{ n++; if (match($0, /:[0-9]+:/)) f[substr($0, 1, RSTART - 1)] = 1 } ` +
  `END { if (n) { c = 0; for (k in f) c++; printf "[... %d more matches (in %d files) not shown; narrow the pattern, path or file_pattern]\\n", n, c } }'`;
