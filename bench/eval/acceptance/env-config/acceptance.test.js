// Hidden acceptance test: never part of the repository the agent gets. The eval harness copies it
// to <checkout>/hidden-acceptance/ on the host (outside the project's vitest include, test/**) and
// runs vitest with that folder as its root, so `../src/` is the fixture's source (imported as .ts:
// vitest compiles it).
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { checkoutPath, enabledFeatures } from '../src/features.ts';

const SWITCHES = ['FEATURE_NEW_CHECKOUT', 'FEATURE_GIFT_CARDS', 'MAINTENANCE_MODE'];

describe.each(SWITCHES)('%s', (name) => {
  test.each(['false', 'FALSE', '0', 'no', 'off'])('%s is off', (value) => {
    expect(loadConfig({ [name]: value })[name]).toBe(false);
  });

  test.each(['true', 'True', '1', 'yes', 'on'])('%s is on', (value) => {
    expect(loadConfig({ [name]: value })[name]).toBe(true);
  });

  test('unset is off', () => {
    expect(loadConfig({})[name]).toBe(false);
  });
});

test('switched off features stay off on the storefront', () => {
  const config = loadConfig({ FEATURE_NEW_CHECKOUT: 'false', FEATURE_GIFT_CARDS: 'true', MAINTENANCE_MODE: 'false' });
  expect(enabledFeatures(config)).toEqual(['giftCards']);
  expect(checkoutPath(config)).toBe('/checkout/step-1');
});

test('the other settings still parse', () => {
  expect(loadConfig({ PORT: '8443', CURRENCY: 'gbp', CART_MAX_ITEMS: '5' })).toMatchObject({ PORT: 8443, CURRENCY: 'GBP', CART_MAX_ITEMS: 5 });
});
