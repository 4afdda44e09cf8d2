/** DATABASE_URL's TLS setting reaches the pg pool: a managed PostgreSQL that requires TLS refuses plain TCP. */
import { describe, expect, test } from 'vitest';
import { pgPoolConfig } from '../../src/db/pg-config.js';

const URL_BASE = 'postgresql://bugfix:s%40cret@db.example.com:6543/bugfix';

describe('pgPoolConfig', () => {
  test('sslmode=require encrypts without checking the certificate; verify-full checks it', () => {
    expect(pgPoolConfig(`${URL_BASE}?sslmode=require`)).toMatchObject({
      host: 'db.example.com',
      port: 6543,
      password: 's@cret',
      ssl: { rejectUnauthorized: false },
    });
    expect(pgPoolConfig(`${URL_BASE}?sslmode=verify-full&application_name=worker`)).toMatchObject({
      ssl: { rejectUnauthorized: true },
      application_name: 'worker',
    });
  });

  test('without sslmode (or with disable) the connection stays plain', () => {
    expect(pgPoolConfig(URL_BASE).ssl).toBeUndefined();
    expect(pgPoolConfig(`${URL_BASE}?sslmode=disable`).ssl).toBeUndefined();
  });

  test('an unknown sslmode is refused with the values it may take', () => {
    expect(() => pgPoolConfig(`${URL_BASE}?sslmode=on`)).toThrow('sslmode=on is not one of disable, allow, prefer, require, verify-ca, verify-full');
  });
});
