/**
 * The edit guard's rules: which files get a syntax check before write_file/edit_file lands, and
 * how a refusal reads for the model. An edit that breaks a file's syntax is refused with the
 * error and the lines around it, so the model fixes it now instead of at the next test run
 * (SWE-agent's linter-guarded edit). Parsing itself is a driver: src/sandbox/syntax-check.ts.
 */

export type SyntaxLanguage = 'javascript' | 'typescript' | 'tsx' | 'python' | 'go' | 'java' | 'json' | 'jsonc' | 'yaml';

/** Bigger files are written unchecked: parsing is synchronous on the worker's event loop. */
export const MAX_SYNTAX_CHECK_BYTES = 1024 * 1024;

/** Lines shown on each side of the error line in a refusal. */
const CONTEXT_LINES = 3;

/** 1-based line and column of the first syntax error, and what is wrong there. */
export interface ParseProblem {
  line: number;
  column: number;
  message: string;
}

const LANGUAGE_NAMES: Record<SyntaxLanguage, string> = {
  javascript: 'JavaScript',
  typescript: 'TypeScript',
  tsx: 'TSX',
  python: 'Python',
  go: 'Go',
  java: 'Java',
  json: 'JSON',
  jsonc: 'JSON with comments',
  yaml: 'YAML',
};

const BY_EXTENSION: Record<string, SyntaxLanguage> = {
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'tsx',
  py: 'python',
  pyi: 'python',
  go: 'go',
  java: 'java',
  json: 'json',
  jsonc: 'jsonc',
  yaml: 'yaml',
  yml: 'yaml',
};

/** JSON files whose own tools read comments and trailing commas (tsc, VS Code, dev containers). */
const JSONC_FILE = /(^|\/)((tsconfig|jsconfig)[^/]*|\.eslintrc|\.babelrc|devcontainer|turbo|deno)\.json$|(^|\/)\.(vscode|devcontainer)\/[^/]*\.json$/i;

/** The language to check a path as, or undefined for files the guard leaves alone. */
export function syntaxLanguageOf(path: string): SyntaxLanguage | undefined {
  const dot = path.lastIndexOf('.');
  if (dot <= path.lastIndexOf('/')) return undefined;
  const language = BY_EXTENSION[path.slice(dot + 1).toLowerCase()];
  if (language === 'json' && JSONC_FILE.test(path)) return 'jsonc';
  return language;
}

/**
 * YAML with template tags (Helm charts, Jinja) is only YAML once rendered: `{{- if .Values.x }}`
 * on a line of its own does not parse, so such content is not judged.
 */
export function isTemplated(language: SyntaxLanguage, text: string): boolean {
  return language === 'yaml' && /\{\{|\{%/.test(text);
}

/** 1-based line and column of a UTF-16 offset into text. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: before.length - lineStart + 1 };
}

/** The numbered lines around `line`, the error line marked with ">". */
export function linesAround(text: string, line: number, context = CONTEXT_LINES): string {
  const lines = text.split('\n');
  // The empty "line" after a final newline is shown only when the error is there (end of file).
  if (lines.length > 1 && lines[lines.length - 1] === '' && line < lines.length) lines.pop();
  const from = Math.max(1, line - context);
  const to = Math.min(lines.length, line + context);
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${i === line ? '>' : ' '}${i}\t${lines[i - 1]}`);
  return out.join('\n');
}

function where(problem: ParseProblem): string {
  return `line ${problem.line}, column ${problem.column}: ${problem.message}`;
}

/** The tool_result for a refused write: what broke, where, and the lines around it. */
export function syntaxRefusal(path: string, language: SyntaxLanguage, problem: ParseProblem, content: string): string {
  const name = LANGUAGE_NAMES[language];
  return (
    `Refused: after this change ${path} would no longer parse as ${name} (${where(problem)}). The file is unchanged.\n` +
    `${linesAround(content, problem.line)}\n` +
    `Correct the change and try again. (If this is valid ${name} that the checker does not know, write it with run_command.)`
  );
}

/** Appended to a write that was allowed because the file did not parse before it either. */
export function stillBrokenNote(path: string, language: SyntaxLanguage, problem: ParseProblem): string {
  return ` Note: ${path} did not parse as ${LANGUAGE_NAMES[language]} before this change and still does not (${where(problem)}).`;
}
