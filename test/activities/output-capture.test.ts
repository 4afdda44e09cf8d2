import { describe, expect, test } from 'vitest';
import { OutputCapture } from '../../src/sandbox/output-capture.js';

describe('bounded output capture', () => {
  test('50 MB pushed in chunks keeps only head and tail, and counts the rest', () => {
    const c = new OutputCapture(1000, 1000);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    c.push(Buffer.from('HEAD'));
    for (let i = 0; i < 800; i++) c.push(chunk);
    c.push(Buffer.from('TAIL'));
    expect(c.total).toBe(4 + 800 * chunk.length + 4);
    expect(c.bytes()).toBeUndefined();
    const text = c.text(500);
    expect(text.startsWith('HEADxx')).toBe(true);
    expect(text.endsWith('xxTAIL')).toBe(true);
    expect(text).toContain(`[... ${c.total - 300 - 200} bytes cut ...]`);
    // Memory held: the head, plus tail chunks covering at most the tail window and one chunk.
    const held = (c as unknown as { tail: Buffer[] }).tail.reduce((n, b) => n + b.length, 0);
    expect(held).toBeLessThanOrEqual(1000 + chunk.length);
  });

  test('small output is exact; NUL bytes mean binary', () => {
    const c = new OutputCapture();
    c.push(Buffer.from([1, 2, 3]));
    expect(c.bytes()).toEqual(Buffer.from([1, 2, 3]));
    c.push(Buffer.from([0]));
    expect(c.text()).toMatch(/^\[binary output: 4 bytes/);
  });
});
