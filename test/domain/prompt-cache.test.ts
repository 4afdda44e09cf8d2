/** The stand-in's prompt-cache model: what tests and bench:tokens rely on must itself be right. */
import { describe, expect, test } from 'vitest';
import { PromptCache } from '../../dev/stand-ins/prompt-cache.js';

const big = (n: number) => 'x'.repeat(n * 4);
const system = [{ type: 'text', text: big(2000), cache_control: { type: 'ephemeral' } }];

describe('prompt cache stand-in', () => {
  test('writes at breakpoints, then reads the same prefix back, ignoring moved cache_control', () => {
    const cache = new PromptCache();
    const first = cache.usageFor({ system, messages: [{ role: 'user', content: [{ type: 'text', text: big(500), cache_control: { type: 'ephemeral' } }] }] });
    expect(first.cache_read_input_tokens).toBe(0);
    expect(first.cache_creation_input_tokens).toBeGreaterThan(2400);
    expect(first.input_tokens).toBe(0);

    const second = cache.usageFor({
      system,
      messages: [
        { role: 'user', content: [{ type: 'text', text: big(500) }] },
        { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
        { role: 'user', content: [{ type: 'text', text: big(300), cache_control: { type: 'ephemeral' } }] },
      ],
    });
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBeGreaterThan(300);
  });

  test('no breakpoint, no caching; a changed prefix misses', () => {
    const cache = new PromptCache();
    const plain = cache.usageFor({ system: big(3000), messages: [{ role: 'user', content: 'hi' }] });
    expect(plain.cache_creation_input_tokens + plain.cache_read_input_tokens).toBe(0);
    cache.usageFor({ system, messages: [{ role: 'user', content: 'a' }] });
    const changed = cache.usageFor({ system: [{ ...system[0]!, text: big(2001) }], messages: [{ role: 'user', content: 'a' }] });
    expect(changed.cache_read_input_tokens).toBe(0);
  });
});
