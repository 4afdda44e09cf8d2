import { describe, expect, test } from 'vitest';
import { assertBranchName, fixBranchName, fixWorkflowId, sandboxContainerName } from '../../src/domain/fix/ids.js';
import { PathOutsideWorkspaceError, resolveWorkspacePath } from '../../src/domain/agent/workspace-paths.js';
import { truncateMiddle } from '../../src/domain/agent/truncate.js';

describe('ids', () => {
  const shop = { key: 'shop', id: '1a2b3c4d-0000-4000-8000-000000000000' };

  test('a safe external id is kept; anything else is hashed, stably', () => {
    expect(fixWorkflowId(shop, 'TICKET-42')).toBe('bugfix-shop.1a2b3c4d.TICKET-42');
    const weird = fixWorkflowId(shop, 'mail <a@b.c>; rm -rf /');
    expect(weird).toMatch(/^bugfix-shop\.1a2b3c4d\.[0-9a-f]{16}$/);
    expect(fixWorkflowId(shop, 'mail <a@b.c>; rm -rf /')).toBe(weird);
    expect(() => fixWorkflowId({ ...shop, key: 'Bad Key' }, 'x')).toThrow(/invalid project key/);
  });

  test('keys and external ids may both contain "-": the separator keeps projects apart', () => {
    expect(fixWorkflowId(shop, 'api-1')).not.toBe(fixWorkflowId({ ...shop, key: 'shop-api' }, '1'));
    expect(sandboxContainerName(fixWorkflowId(shop, 'api-1'))).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });

  test('a project created again under the same key gets other workflow ids', () => {
    expect(fixWorkflowId(shop, '42')).not.toBe(fixWorkflowId({ ...shop, id: '9f8e7d6c-0000-4000-8000-000000000000' }, '42'));
  });

  test('branch names are whitelisted', () => {
    expect(fixBranchName('3f2a9c1e-aaaa-bbbb-cccc-dddddddddddd')).toBe('fix/bug-3f2a9c1e');
    for (const bad of ['main', 'fix/../main', 'fix/a b', 'fix/$(id)', 'fix/x.lock', 'refs/heads/fix/x', 'fix/-x']) {
      expect(() => assertBranchName(bad), bad).toThrow(/refusing branch name/);
    }
  });

  test('container names are valid Docker names', () => {
    expect(sandboxContainerName('bugfix-shop-a/b:c')).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });
});

describe('workspace paths', () => {
  test('relative paths resolve inside /workspace', () => {
    expect(resolveWorkspacePath('src/a.js')).toBe('/workspace/src/a.js');
    expect(resolveWorkspacePath('./src/../lib//b.js')).toBe('/workspace/lib/b.js');
    expect(resolveWorkspacePath(undefined)).toBe('/workspace');
  });

  test('absolute paths and escapes are refused with a reason', () => {
    expect(() => resolveWorkspacePath('/etc/passwd')).toThrow(PathOutsideWorkspaceError);
    expect(() => resolveWorkspacePath('../outside')).toThrow(/escapes the repository/);
    expect(() => resolveWorkspacePath('a/../../b')).toThrow(/escapes the repository/);
    expect(() => resolveWorkspacePath('a\0b')).toThrow(/NUL/);
  });
});

describe('truncateMiddle', () => {
  test('keeps head and tail and says how much was cut', () => {
    const text = `HEAD${'x'.repeat(10_000)}TAIL`;
    const out = truncateMiddle(text, 1000);
    expect(out.length).toBeLessThanOrEqual(1000);
    expect(out.startsWith('HEAD')).toBe(true);
    expect(out.endsWith('TAIL')).toBe(true);
    const cut = Number(/\[\.\.\. (\d+) characters cut/.exec(out)?.[1]);
    expect(cut + out.length).toBeGreaterThan(text.length - 100);
    expect(truncateMiddle('short', 1000)).toBe('short');
  });
});
