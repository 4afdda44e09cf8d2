/** Replies to people who may not ask: one per person and project in the window, retries excepted. */
import { describe, expect, it } from 'vitest';
import { ReplyThrottle } from '../../src/domain/github/reply-throttle.js';

describe('ReplyThrottle', () => {
  it('one reply per key in the window; the same reply retried goes ahead; after the window the next one does', () => {
    const t = new ReplyThrottle(60_000);
    expect(t.reserve('p:reader', 'issue-1', 0)).toBe(true);
    expect(t.reserve('p:reader', 'issue-2', 1_000)).toBe(false);
    expect(t.reserve('p:reader', 'issue-1', 2_000)).toBe(true); // a retry of the reply being posted
    expect(t.reserve('p:someone-else', 'issue-2', 3_000)).toBe(true);
    expect(t.reserve('p:reader', 'issue-3', 62_001)).toBe(true);
  });

  it('a failed post frees the key for the next attempt; another reply cannot free it', () => {
    const t = new ReplyThrottle(60_000);
    expect(t.reserve('p:reader', 'issue-1', 0)).toBe(true);
    t.release('p:reader', 'issue-2');
    expect(t.reserve('p:reader', 'issue-2', 1)).toBe(false);
    t.release('p:reader', 'issue-1');
    expect(t.reserve('p:reader', 'issue-2', 2)).toBe(true);
  });
});
