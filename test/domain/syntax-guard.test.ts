import { describe, expect, test } from 'vitest';
import { isTemplated, linesAround, positionAt, syntaxLanguageOf, syntaxRefusal } from '../../src/domain/agent/syntax-guard.js';

describe('which files the edit guard parses', () => {
  test('by extension, JSON-with-comments files by name, the rest not at all', () => {
    const cases: [string, string | undefined][] = [
      ['src/a.js', 'javascript'],
      ['src/a.MJS', 'javascript'],
      ['src/a.jsx', 'javascript'],
      ['src/a.cts', 'typescript'],
      ['src/a.tsx', 'tsx'],
      ['a/b.pyi', 'python'],
      ['main.go', 'go'],
      ['A.java', 'java'],
      ['package.json', 'json'],
      ['tsconfig.build.json', 'jsonc'],
      ['packages/x/tsconfig.json', 'jsonc'],
      ['.vscode/settings.json', 'jsonc'],
      ['.devcontainer/devcontainer.json', 'jsonc'],
      ['a.jsonc', 'jsonc'],
      ['ci.YML', 'yaml'],
      ['README.md', undefined],
      ['Makefile', undefined],
      ['.eslintignore', undefined],
      ['dir.py/file', undefined],
    ];
    for (const [p, lang] of cases) expect(syntaxLanguageOf(p), p).toBe(lang);
  });
  test('templated YAML (Helm, Jinja) is not judged; templating in code is left to its parser', () => {
    expect(isTemplated('yaml', 'spec:\n{{- if .Values.enabled }}\n  a: 1\n{{- end }}\n')).toBe(true);
    expect(isTemplated('yaml', '{% if x %}\na: 1\n{% endif %}\n')).toBe(true);
    expect(isTemplated('yaml', 'a: 1\n')).toBe(false);
    expect(isTemplated('javascript', 'const s = `{{x}}`;')).toBe(false);
  });
});

describe('how a refusal reads', () => {
  test('positions are 1-based lines and columns', () => {
    expect(positionAt('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(positionAt('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(positionAt('ab\n', 3)).toEqual({ line: 2, column: 1 });
  });

  test('numbered lines around the error, the error line marked, no phantom line after the last newline', () => {
    const text = Array.from({ length: 10 }, (_, i) => `l${i + 1}`).join('\n') + '\n';
    expect(linesAround(text, 9)).toBe(' 6\tl6\n 7\tl7\n 8\tl8\n>9\tl9\n 10\tl10');
    expect(linesAround('a\n', 2)).toBe(' 1\ta\n>2\t');
  });

  test('names the file, the language, where, and that nothing was written', () => {
    const msg = syntaxRefusal('src/a.py', 'python', { line: 1, column: 8, message: 'missing ":"' }, 'def f()\n    pass\n');
    expect(msg).toBe(
      'Refused: after this change src/a.py would no longer parse as Python (line 1, column 8: missing ":"). The file is unchanged.\n' +
        '>1\tdef f()\n 2\t    pass\n' +
        'Correct the change and try again. (If this is valid Python that the checker does not know, write it with run_command.)',
    );
  });
});
