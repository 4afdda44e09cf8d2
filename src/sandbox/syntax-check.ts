/**
 * Fast syntax check of a file's content on the worker host, for the edit guard
 * (src/domain/agent/syntax-guard.ts): tree-sitter grammars for code, JSON and YAML by their
 * own parsers. Pure data work, so it needs no toolchain in the sandbox and answers the same for
 * every project. Grammars load once per worker process, on first use.
 *
 * The grammars come with @vscode/tree-sitter-wasm (built with tree-sitter 0.25, ABI 14/15);
 * the runtime is web-tree-sitter 0.27, which reads ABI 13 to 15. Both are pinned: a new pair
 * must pass test/sandbox-tools' syntax tests before it ships.
 */
import { createRequire } from 'node:module';
import * as jsonc from 'jsonc-parser';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { parseAllDocuments } from 'yaml';
import {
  isTemplated,
  MAX_SYNTAX_CHECK_BYTES,
  positionAt,
  stillBrokenNote,
  syntaxLanguageOf,
  syntaxRefusal,
  type ParseProblem,
  type SyntaxLanguage,
} from '../domain/agent/syntax-guard.js';

type TreeSitterLanguage = Exclude<SyntaxLanguage, 'json' | 'jsonc' | 'yaml'>;

/**
 * A parse runs on the worker's event loop: one that takes longer is given up (the write goes
 * ahead unchecked) rather than stall the worker's other activities and heartbeats.
 */
const PARSE_BUDGET_MS = 1000;

const require = createRequire(import.meta.url);
const parsers = new Map<TreeSitterLanguage, Promise<Parser>>();
let runtime: Promise<void> | undefined;

function parserFor(language: TreeSitterLanguage): Promise<Parser> {
  let parser = parsers.get(language);
  if (!parser) {
    parser = (async () => {
      runtime ??= Parser.init();
      await runtime;
      const grammar = await Language.load(require.resolve(`@vscode/tree-sitter-wasm/wasm/tree-sitter-${language}.wasm`));
      return new Parser().setLanguage(grammar);
    })();
    // A failed load is retried on the next check rather than remembered.
    parser.catch(() => parsers.delete(language));
    parsers.set(language, parser);
  }
  return parser;
}

/** What a file held before a write: its text, nothing (a new file), or not known (too big to read). */
export type Before = { text: string } | 'new' | 'unreadable';

export type EditSyntaxVerdict = { ok: true; note: string } | { ok: false; refusal: string };

/**
 * The edit guard: refuses content that would turn a parsing file (or a new one) into one that
 * does not parse, so the file stays as it was. A file that was already broken may still be
 * written, so fixing it stays possible; the note says it still does not parse. `before` is only
 * called when the new content fails, so a good write costs one parse and no extra round trip.
 */
export async function checkEditSyntax(path: string, next: string, before: () => Promise<Before>): Promise<EditSyntaxVerdict> {
  const pass = { ok: true, note: '' } as const;
  const language = syntaxLanguageOf(path);
  if (!language || Buffer.byteLength(next, 'utf8') > MAX_SYNTAX_CHECK_BYTES || isTemplated(language, next)) return pass;
  const problem = await findParseProblem(language, next);
  if (!problem) return pass;
  const old = await before();
  if (old === 'unreadable' || (old !== 'new' && Buffer.byteLength(old.text, 'utf8') > MAX_SYNTAX_CHECK_BYTES)) return pass;
  if (old !== 'new' && (await findParseProblem(language, old.text))) return { ok: true, note: stillBrokenNote(path, language, problem) };
  return { ok: false, refusal: syntaxRefusal(path, language, problem, next) };
}

/** The first syntax error in `text` read as `language`, or undefined when it parses (or a parse runs out of time). */
export async function findParseProblem(language: SyntaxLanguage, text: string, budgetMs = PARSE_BUDGET_MS): Promise<ParseProblem | undefined> {
  switch (language) {
    case 'json':
      return jsonProblem(text, false);
    case 'jsonc':
      return jsonProblem(text, true);
    case 'yaml':
      return yamlProblem(text);
    default:
      return treeSitterProblem(await parserFor(language), text, budgetMs);
  }
}

function treeSitterProblem(parser: Parser, text: string, budgetMs: number): ParseProblem | undefined {
  const deadline = performance.now() + budgetMs;
  const tree = parser.parse(text, null, { progressCallback: () => performance.now() > deadline });
  if (!tree) {
    // Cancelled: without a reset the next parse would resume this one.
    parser.reset();
    return undefined;
  }
  try {
    if (!tree.rootNode.hasError) return undefined;
    const node = firstErrorNode(tree.rootNode);
    const { line, column } = positionAt(text, node.startIndex);
    if (node.isMissing) return { line, column, message: `missing ${JSON.stringify(node.type)}` };
    const snippet = node.text.split('\n')[0]!.trim().slice(0, 40);
    // An ERROR node covers what the parser could not fit, often from the start of the statement.
    return { line, column, message: snippet ? `syntax error in ${JSON.stringify(snippet)}` : 'syntax error' };
  } finally {
    // web-tree-sitter trees live in wasm memory: not freed by the garbage collector.
    tree.delete();
  }
}

/** Depth-first, following only the subtrees that contain an error: the earliest ERROR or MISSING node. */
function firstErrorNode(node: Node): Node {
  if (node.isError || node.isMissing) return node;
  for (const child of node.children) if (child.hasError) return firstErrorNode(child);
  return node;
}

function jsonProblem(withBom: string, comments: boolean): ParseProblem | undefined {
  // npm, tsc and editors read a JSON file that starts with a byte order mark; JSON.parse does not.
  const text = withBom.replace(/^\uFEFF/, '');
  if (!comments) {
    try {
      JSON.parse(text);
      return undefined;
    } catch {
      // JSON.parse has the verdict; jsonc-parser (strict mode) says where.
    }
  }
  const errors: jsonc.ParseError[] = [];
  jsonc.parse(text, errors, { disallowComments: !comments, allowTrailingComma: comments, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return comments ? undefined : { line: 1, column: 1, message: 'not valid JSON' };
  // "CommaExpected" -> "comma expected"
  const message = jsonc
    .printParseErrorCode(first.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return { ...positionAt(text, first.offset), message };
}

function yamlProblem(text: string): ParseProblem | undefined {
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors[0];
    if (!error) continue;
    const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { ...positionAt(text, error.pos[0]), message };
  }
  return undefined;
}
