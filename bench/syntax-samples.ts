/**
 * Source files of about 1,000 lines per language the edit guard parses, for bench:tools's
 * syntax-check figures: plain functions with a branch each, the shape of ordinary code.
 */
import type { SyntaxLanguage } from '../src/domain/agent/syntax-guard.js';

const times = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join('');

export const SYNTAX_SAMPLES: Partial<Record<SyntaxLanguage, string>> = {
  javascript: times(143, (i) => `function f${i}(a, b) {\n  const c = a + b;\n  if (c > ${i}) {\n    return c * 2;\n  }\n  return c;\n}\n`),
  typescript: times(
    143,
    (i) => `export function f${i}(a: number, b: number): number {\n  const c: number = a + b;\n  if (c > ${i}) {\n    return c * 2;\n  }\n  return c;\n}\n`,
  ),
  python: times(167, (i) => `def f_${i}(a, b):\n    c = a + b\n    if c > ${i}:\n        return c * 2\n    return c\n\n`),
  go: `package bench\n\n${times(125, (i) => `func F${i}(a, b int) int {\n\tc := a + b\n\tif c > ${i} {\n\t\treturn c * 2\n\t}\n\treturn c\n}\n\n`)}`,
  java: `public class Bench {\n${times(125, (i) => `  static int f${i}(int a, int b) {\n    int c = a + b;\n    if (c > ${i}) {\n      return c * 2;\n    }\n    return c;\n  }\n\n`)}}\n`,
  json: `{\n${times(333, (i) => `  "key${i}": {\n    "value": ${i}\n  },\n`)}  "last": true\n}\n`,
  yaml: `items:\n${times(333, (i) => `  - name: item-${i}\n    value: ${i}\n    tags: [a, b]\n`)}`,
};
