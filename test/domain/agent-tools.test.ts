import { describe, expect, test } from 'vitest';
import { AGENT_TOOLS, applyExactEdit, numberLines, toolInputSchemas } from '../../src/domain/agent/agent-tools.js';

describe('edit rule', () => {
  test('replaces exactly one occurrence', () => {
    expect(applyExactEdit('a = 1;\nb = 2;\n', 'b = 2', 'b = 3')).toEqual({ ok: true, content: 'a = 1;\nb = 3;\n' });
  });
  test('refuses a missing match and a repeated one, saying which', () => {
    expect(applyExactEdit('abc', 'zzz', 'y')).toMatchObject({ ok: false, error: expect.stringMatching(/not found/) });
    expect(applyExactEdit('x x x', 'x', 'y')).toMatchObject({ ok: false, error: expect.stringMatching(/occurs 3 times/) });
  });
  test('treats replacement text literally (no $& patterns)', () => {
    expect(applyExactEdit('price', 'price', '$&$1')).toEqual({ ok: true, content: '$&$1' });
  });
});

describe('tool definitions', () => {
  test('every tool the model sees has an input schema and vice versa', () => {
    expect(AGENT_TOOLS.map((t) => t.name).sort()).toEqual(Object.keys(toolInputSchemas).sort());
    for (const t of AGENT_TOOLS) for (const r of t.input_schema.required) expect(t.input_schema.properties).toHaveProperty(r);
  });
  test('numbers lines and honours ranges', () => {
    expect(numberLines('a\nb\nc\n', 2, 3)).toBe('2\tb\n3\tc');
    expect(numberLines('a\n', 5)).toMatch(/no lines in range/);
  });
});
