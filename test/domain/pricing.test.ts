import { describe, expect, test } from 'vitest';
import { addUsage, costUnits, priceFor, PRICE_TABLE, unitsToUsdString, ZERO_USAGE } from '../../src/domain/fix/pricing.js';

describe('pricing', () => {
  test('charges each token kind at its own rate, exactly', () => {
    // Sonnet 5.5: $2 in, $10 out, $2.50 cache write, $0.20 cache read per MTok
    const units = costUnits('claude-sonnet-5-5', { inputTokens: 1000, outputTokens: 500, cacheCreationTokens: 2000, cacheReadTokens: 10_000 });
    // 0.002 + 0.005 + 0.005 + 0.002 = $0.014
    expect(unitsToUsdString(units)).toBe('0.01400000');
  });

  test('dated model ids use their family price; unknown models the most expensive', () => {
    expect(priceFor('claude-haiku-4-5-20251001')).toBe(PRICE_TABLE['claude-haiku-4-5']);
    expect(priceFor('claude-sonnet-5-5-20260928')).toBe(PRICE_TABLE['claude-sonnet-5-5']);
    const maxInput = Math.max(...Object.values(PRICE_TABLE).map((p) => p.input));
    expect(priceFor('some-future-model').input).toBe(maxInput);
  });

  test('every row prices cache reads at 0.1× its input and cache writes (5-minute) at 1.25×', () => {
    for (const [model, p] of Object.entries(PRICE_TABLE)) {
      expect({ model, cacheRead: p.cacheRead, cacheWrite: p.cacheWrite }).toEqual({ model, cacheRead: p.input / 10, cacheWrite: (p.input * 5) / 4 });
    }
  });

  test('snapshot ids of aliases get their family price, and the longest family wins', () => {
    // The API answers a request for an alias with the snapshot id: claude-sonnet-4-0 → claude-sonnet-4-20250514.
    expect(priceFor('claude-sonnet-4-20250514')).toBe(PRICE_TABLE['claude-sonnet-4']);
    expect(priceFor('claude-sonnet-4-20250514').input).toBe(PRICE_TABLE['claude-sonnet-4-0']!.input);
    expect(priceFor('claude-opus-4-20250514').input).toBe(1500);
    expect(priceFor('claude-sonnet-4-5-20250929')).toBe(PRICE_TABLE['claude-sonnet-4-5']);
    expect(priceFor('claude-opus-4-5-20251101')).toBe(PRICE_TABLE['claude-opus-4-5']);
    expect(priceFor('claude-opus-4-6-20260101')).toBe(PRICE_TABLE['claude-opus-4-6']);
    expect(priceFor('claude-opus-4-1-20250805')).toBe(PRICE_TABLE['claude-opus-4-1']);
  });

  test('sums stay exact where floating point would drift', () => {
    let units = 0;
    for (let i = 0; i < 1000; i++) units += costUnits('claude-haiku-4-5', { ...ZERO_USAGE, cacheReadTokens: 1 });
    expect(unitsToUsdString(units)).toBe('0.00010000');
    expect(unitsToUsdString(123_456_789_012)).toBe('1234.56789012');
  });

  test('adds usage field by field', () => {
    const a = { inputTokens: 1, outputTokens: 2, cacheCreationTokens: 3, cacheReadTokens: 4 };
    expect(addUsage(a, a)).toEqual({ inputTokens: 2, outputTokens: 4, cacheCreationTokens: 6, cacheReadTokens: 8 });
  });
});
