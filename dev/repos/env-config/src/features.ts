import type { Config } from './config.js';

export type Feature = 'newCheckout' | 'giftCards';

/** Which optional features the storefront shows. Maintenance mode switches everything off. */
export function enabledFeatures(config: Config): Feature[] {
  if (config.MAINTENANCE_MODE) return [];
  const features: Feature[] = [];
  if (config.FEATURE_NEW_CHECKOUT) features.push('newCheckout');
  if (config.FEATURE_GIFT_CARDS) features.push('giftCards');
  return features;
}

/** The checkout page a cart links to. */
export function checkoutPath(config: Config): string {
  return enabledFeatures(config).includes('newCheckout') ? '/checkout/one-page' : '/checkout/step-1';
}
