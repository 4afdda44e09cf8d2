/** Fork delivery's pure rules: which repository may receive the fix, the PR head, the poll schedule, the stored setting. */
import { describe, expect, test } from 'vitest';
import { forkPollDelaysMs, forkRefusal, GITHUB_LOGIN, pullRequestHead } from '../../src/domain/fix/fork.js';
import { storedDelivery } from '../../src/projects/project-settings.js';

describe('fork delivery rules', () => {
  test('only a fork of the project repository receives the fix', () => {
    expect(forkRefusal({ full_name: 'bot/shop', fork: true, parent: { full_name: 'Acme/Shop' } }, 'acme/shop')).toBeNull();
    expect(forkRefusal({ full_name: 'acme/shop', fork: false }, 'acme/shop')).toMatch(/is the upstream repository itself/);
    expect(forkRefusal({ full_name: 'bot/shop', fork: false }, 'acme/shop')).toMatch(/exists and is not a fork of acme\/shop; set delivery.forkOwner/);
    expect(forkRefusal({ full_name: 'bot/shop', fork: true, parent: { full_name: 'other/shop' } }, 'acme/shop')).toBe(
      'bot/shop is a fork of other/shop, not of acme/shop',
    );
    expect(forkRefusal({ full_name: 'bot/shop', fork: true, parent: null }, 'acme/shop')).toMatch(/fork of another repository/);
  });

  test('the PR head names the fork owner; logins are GitHub-shaped', () => {
    expect(pullRequestHead('bugfix-bot', 'fix/bug-1')).toBe('bugfix-bot:fix/bug-1');
    for (const ok of ['bugfix-bot', 'a', 'Acme-Bots-2', 'x'.repeat(39)]) expect(GITHUB_LOGIN.test(ok), ok).toBe(true);
    for (const bad of ['', '-bot', 'bot-', 'a--b', 'a/b', 'a:b', 'x'.repeat(40), 'bot[bot]']) expect(GITHUB_LOGIN.test(bad), bad).toBe(false);
  });

  test('polls for a new fork back off from 1 s to 30 s within the total', () => {
    const delays = forkPollDelaysMs();
    expect(delays.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
    expect(Math.max(...delays)).toBe(30000);
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(6 * 60_000);
    expect(total).toBeGreaterThan(5 * 60_000);
    expect(forkPollDelaysMs(3500)).toEqual([1000, 2000]);
  });

  test('a stored setting that never was set is branch mode; one that does not parse refuses, never falls back to branch', () => {
    expect(storedDelivery({})).toEqual({ mode: 'branch' });
    expect(storedDelivery(null)).toEqual({ mode: 'branch' });
    expect(storedDelivery({ mode: 'fork', forkOwner: 'acme-bots' })).toEqual({ mode: 'fork', forkOwner: 'acme-bots' });
    expect(storedDelivery({ mode: 'Fork' })).toMatchObject({ problem: expect.stringMatching(/^the project's delivery setting is invalid/) as string });
    expect(storedDelivery('fork')).toHaveProperty('problem');
  });
});
