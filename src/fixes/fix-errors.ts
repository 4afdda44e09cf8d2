/**
 * Failures of fix lookups and controls, by kind, so the admin API (HTTP status) and the CLI (one
 * line on stderr) can each render them without knowing Temporal's error classes.
 */
export type FixErrorKind = 'not-found' | 'closed' | 'rejected' | 'forbidden' | 'timeout' | 'unavailable';

export class FixError extends Error {
  constructor(
    readonly kind: FixErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const FIX_ERROR_HTTP_STATUS: Record<FixErrorKind, number> = {
  'not-found': 404,
  closed: 409,
  rejected: 409,
  forbidden: 403,
  timeout: 504,
  unavailable: 503,
};
