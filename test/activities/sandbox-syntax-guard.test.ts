/**
 * The edit guard against a real sandbox container: an edit or a write that would make a file
 * stop parsing is refused with the error and the lines around it, and the file is left byte for
 * byte as it was; a good edit lands. One case per checked language. Also: list_files and
 * search_code cut long output and count what they left out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cloneOnHost, createSandboxContainer, streamRepoIntoSandbox } from '../../src/sandbox/container.js';
import { execInSandbox } from '../../src/sandbox/exec.js';
import { ShellPool } from '../../src/sandbox/shell-pool.js';
import { ToolExecutor } from '../../src/sandbox/tool-executor.js';
import type { ToolOutcome } from '../../src/sandbox/tool-call.js';
import { MAX_LISTED_FILES, MAX_SEARCH_MATCHES } from '../../src/sandbox/search-output.js';
import { findParseProblem } from '../../src/sandbox/syntax-check.js';
import { loadConfig } from '../../src/config.js';
import { createBareRemote } from '../../dev/fixture-remotes.js';

const docker = new Docker();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bugfix-syntax-'));
let containerId: string;
let tools: ToolExecutor;
const shells = new ShellPool(docker);
let n = 0;
const call = (name: string, input: Record<string, unknown> = {}): Promise<ToolOutcome> => tools.run({ id: `t${n++}`, name, input });
const cat = async (file: string) => {
  const r = await execInSandbox(docker, containerId, ['sh', '-c', 'cat -- "$1" 2>/dev/null || echo "(absent)"', 'sh', `/workspace/${file}`]);
  return r.stdout.toString('utf8');
};

beforeAll(async () => {
  const req = {
    workflowId: `syntax-test-${Date.now()}`,
    bugId: '00000000-0000-0000-0000-000000000000',
    projectKey: 'syntax',
    cloneUrl: createBareRemote('pagination', path.join(tmp, 'remote.git')),
    defaultBranch: 'main',
  };
  const { dir } = await cloneOnHost(path.join(tmp, 'work'), req);
  const container = await createSandboxContainer(docker, loadConfig().SANDBOX_IMAGE, req, 'test-host');
  containerId = container.id;
  await streamRepoIntoSandbox(docker, containerId, dir);
  tools = new ToolExecutor(docker, containerId, { shells });
});

afterAll(async () => {
  shells.closeAll();
  await docker
    .getContainer(containerId)
    .remove({ force: true })
    .catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Case {
  file: string;
  language: string;
  content: string;
  /** [old_string, new_string] that still parses */
  good: [string, string];
  /** [old_string, new_string] that does not, and where the refusal points */
  bad: [string, string];
  at: string;
}

const cases: Case[] = [
  {
    file: 'src/calc.js',
    language: 'JavaScript',
    content: 'export function add(a, b) {\n  return a + b;\n}\n',
    good: ['return a + b;', 'return b + a;'],
    bad: ['return b + a;', 'return b + ;'],
    at: 'line 2, column 13: missing "identifier"',
  },
  {
    file: 'src/calc.ts',
    language: 'TypeScript',
    content: 'export function add(a: number, b: number): number {\n  return a + b;\n}\n',
    good: ['b: number)', 'b = 0)'],
    bad: ['return a + b;', 'return (a + b;'],
    at: 'line 2, column 16: missing ")"',
  },
  {
    file: 'src/view.tsx',
    language: 'TSX',
    content: 'export const View = ({ name }: { name: string }) => <div>{name}</div>;\n',
    good: ['<div>{name}</div>', '<span>{name}</span>'],
    bad: ['<span>{name}</span>', '<span>{name</span>'],
    at: 'line 1, column 1',
  },
  {
    file: 'app/calc.py',
    language: 'Python',
    content: 'def add(a, b):\n    return a + b\n',
    good: ['def add(a, b):', 'def add(a, b=0):'],
    bad: ['def add(a, b=0):', 'def add(a, b=0)'],
    at: 'line 1, column 1',
  },
  {
    file: 'calc/calc.go',
    language: 'Go',
    content: 'package calc\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n',
    good: ['return a + b', 'return b + a'],
    bad: ['return b + a', 'return b +'],
    at: 'line 4, column 11',
  },
  {
    file: 'src/main/java/Calc.java',
    language: 'Java',
    content: 'public class Calc {\n  static int add(int a, int b) {\n    return a + b;\n  }\n}\n',
    good: ['return a + b;', 'return b + a;'],
    bad: ['return b + a;', 'return b + a'],
    at: 'line 3, column 17: missing ";"',
  },
  {
    file: 'config/settings.json',
    language: 'JSON',
    content: '{\n  "retries": 3,\n  "name": "x"\n}\n',
    good: ['"retries": 3,', '"retries": 4,'],
    bad: ['"retries": 4,', '"retries": 4,,'],
    at: 'line 2, column 16: property name expected',
  },
  {
    file: 'deploy/ci.yml',
    language: 'YAML',
    content: 'jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n',
    good: ['run: npm test', 'run: npm ci && npm test'],
    bad: ['run: npm ci && npm test', 'run: [npm ci && npm test'],
    at: 'line 6, column 1',
  },
];

describe('edits that would break syntax are refused, the file unchanged', () => {
  test.each(cases)('$language ($file)', async ({ file, language, content, good, bad, at }) => {
    expect(await call('write_file', { path: file, content })).toMatchObject({
      isError: false,
      content: `Wrote ${Buffer.byteLength(content)} bytes to ${file}.`,
    });
    expect(await call('edit_file', { path: file, old_string: good[0], new_string: good[1] })).toMatchObject({ isError: false });
    const edited = content.replace(good[0], good[1]);
    expect(await cat(file)).toBe(edited);

    const refused = await call('edit_file', { path: file, old_string: bad[0], new_string: bad[1] });
    expect(refused.isError).toBe(true);
    expect(refused.content).toContain(`Refused: after this change ${file} would no longer parse as ${language} (${at}`);
    expect(refused.content).toContain('The file is unchanged.');
    // The lines around the error, numbered, the error line marked.
    const line = Number(/line (\d+)/.exec(at)![1]);
    expect(refused.content).toMatch(new RegExp(`^>${line}\\t`, 'm'));
    expect(await cat(file)).toBe(edited);

    // The same broken content as a whole-file write is refused too.
    const broken = edited.replace(bad[0], bad[1]);
    expect(await call('write_file', { path: file, content: broken })).toMatchObject({
      isError: true,
      content: expect.stringContaining('would no longer parse'),
    });
    expect(await cat(file)).toBe(edited);
  });

  test('a new file that does not parse is not created', async () => {
    const r = await call('write_file', { path: 'src/fresh.py', content: 'def f(:\n    pass\n' });
    expect(r).toMatchObject({
      isError: true,
      content: expect.stringMatching(/^Refused: after this change src\/fresh\.py would no longer parse as Python \(line 1/),
    });
    expect(await cat('src/fresh.py')).toBe('(absent)\n');
  });

  test('a file that did not parse before may still be edited (fixing it stays possible), with a note', async () => {
    await execInSandbox(docker, containerId, ['sh', '-c', 'printf "def f(:\\n    return 1\\n" > /workspace/app/broken.py']);
    const partial = await call('edit_file', { path: 'app/broken.py', old_string: 'return 1', new_string: 'return 2' });
    expect(partial).toMatchObject({
      isError: false,
      content: expect.stringMatching(/replaced 1 occurrence\. Note: app\/broken\.py did not parse as Python before this change and still does not \(line 1/),
    });
    const fixed = await call('edit_file', { path: 'app/broken.py', old_string: 'def f(:', new_string: 'def f():' });
    expect(fixed).toMatchObject({ isError: false, content: 'Edited app/broken.py: replaced 1 occurrence.' });
    expect(await cat('app/broken.py')).toBe('def f():\n    return 2\n');
  });

  test('tsconfig.json may hold comments and trailing commas (tsc reads them); package.json may not', async () => {
    const tsconfig = '{\n  // strict mode\n  "compilerOptions": { "strict": true, },\n}\n';
    expect(await call('write_file', { path: 'tsconfig.json', content: tsconfig })).toMatchObject({ isError: false });
    const pkg = await call('write_file', { path: 'package.json', content: '{\n  // no\n  "name": "x"\n}\n' });
    expect(pkg).toMatchObject({ isError: true, content: expect.stringContaining('would no longer parse as JSON (line 2, column 3') });
  });

  test('other files, Helm templates and JSON with a byte order mark are written unchecked or accepted', async () => {
    expect(await call('write_file', { path: 'notes.md', content: '(((' })).toMatchObject({ isError: false });
    const helm = 'spec:\n{{- if .Values.enabled }}\n  replicas: {{ .Values.replicas }}\n{{- end }}\n';
    expect(await call('write_file', { path: 'chart/templates/deploy.yaml', content: helm })).toMatchObject({ isError: false });
    expect(await call('write_file', { path: 'config/bom.json', content: '\uFEFF{"a": 1}\n' })).toMatchObject({ isError: false });
  });
});

describe('the parse itself', () => {
  test('a parse over its time budget gives no verdict (the write goes ahead), and the next parse starts afresh', async () => {
    const big = 'function f(a) {\n  return a + 1;\n}\n'.repeat(2000) + 'function g( {\n';
    expect(await findParseProblem('javascript', big, 0)).toBeUndefined();
    expect(await findParseProblem('javascript', 'const ok = 1;\n')).toBeUndefined();
    expect(await findParseProblem('javascript', big)).toMatchObject({ line: 6001 });
  });
});

describe('list and search output stay short and say how much more there is', () => {
  test('list_files stops at its limit and counts the rest', async () => {
    const total = MAX_LISTED_FILES + 37;
    await execInSandbox(docker, containerId, [
      'sh',
      '-c',
      `mkdir -p /workspace/many && cd /workspace/many && for i in $(seq 1 ${total}); do : > f$i.txt; done`,
    ]);
    const lines = (await call('list_files', { path: 'many' })).content.split('\n');
    expect(lines).toHaveLength(MAX_LISTED_FILES + 1);
    expect(lines[0]).toMatch(/^many\/f\d+\.txt$/);
    expect(lines.at(-1)).toBe('[... 37 more files not shown; narrow the path or pattern]');
    // Under the limit: the whole list, no count line.
    expect((await call('list_files', { path: 'many', pattern: 'f1?.txt' })).content.split('\n')).toHaveLength(10);
  });

  test('search_code stops at its limit and counts the matches and files left out', async () => {
    const lines = (k: number) => Array.from({ length: k }, (_, i) => `needle ${i}`).join('\n');
    await call('write_file', { path: 'hay/a.txt', content: lines(MAX_SEARCH_MATCHES - 10) });
    await call('write_file', { path: 'hay/b.txt', content: lines(30) });
    await call('write_file', { path: 'hay/c.txt', content: lines(5) });
    const out = (await call('search_code', { pattern: 'needle', path: 'hay' })).content.trimEnd().split('\n');
    expect(out).toHaveLength(MAX_SEARCH_MATCHES + 1);
    expect(out[0]).toBe('hay/a.txt:1:needle 0');
    expect(out.at(-1)).toBe('[... 25 more matches (in 2 files) not shown; narrow the pattern, path or file_pattern]');
    expect((await call('search_code', { pattern: 'needle', path: 'hay/c.txt' })).content.trimEnd().split('\n')).toHaveLength(5);
  });
});
