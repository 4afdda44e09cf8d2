import { createHash, randomBytes } from 'node:crypto';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function newIntakeKey(): string {
  return `bfk_${randomBytes(24).toString('base64url')}`;
}
