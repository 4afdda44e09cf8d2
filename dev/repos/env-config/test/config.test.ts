import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { checkoutPath, enabledFeatures } from '../src/features.js';

describe('loadConfig', () => {
  test('defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      CURRENCY: 'EUR',
      CART_MAX_ITEMS: 50,
      FEATURE_NEW_CHECKOUT: false,
      FEATURE_GIFT_CARDS: false,
      MAINTENANCE_MODE: false,
    });
  });

  test('numbers and the currency from strings', () => {
    const config = loadConfig({ PORT: '8080', CURRENCY: 'usd', CART_MAX_ITEMS: '20' });
    expect(config.PORT).toBe(8080);
    expect(config.CURRENCY).toBe('USD');
    expect(config.CART_MAX_ITEMS).toBe(20);
  });

  test('a bad value names its variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ CURRENCY: 'euro' })).toThrow(/CURRENCY/);
  });

  test('FEATURE_NEW_CHECKOUT=true turns the new checkout on', () => {
    const config = loadConfig({ FEATURE_NEW_CHECKOUT: 'true' });
    expect(config.FEATURE_NEW_CHECKOUT).toBe(true);
    expect(checkoutPath(config)).toBe('/checkout/one-page');
  });

  test('FEATURE_NEW_CHECKOUT=false keeps the old checkout', () => {
    const config = loadConfig({ FEATURE_NEW_CHECKOUT: 'false' });
    expect(config.FEATURE_NEW_CHECKOUT).toBe(false);
    expect(checkoutPath(config)).toBe('/checkout/step-1');
  });
});

describe('enabledFeatures', () => {
  test('maintenance mode switches every feature off', () => {
    expect(enabledFeatures(loadConfig({ FEATURE_GIFT_CARDS: '1', MAINTENANCE_MODE: '1' }))).toEqual([]);
    expect(enabledFeatures(loadConfig({ FEATURE_GIFT_CARDS: '1' }))).toEqual(['giftCards']);
  });
});
