/**
 * What PostgreSQL can store. It refuses U+0000 in text and inside jsonb (SQLSTATE 22021,
 * "unsupported Unicode escape sequence"), and Prisma cannot even send a string holding an unpaired
 * UTF-16 surrogate (what a JSON `\ud800` escape parses to): either fails the whole statement, so a
 * request gets a 500 and an activity retries forever. Other control characters are stored as they
 * are (and JSON-escaped wherever they are shown).
 *
 * Text a person submits is refused with a 400 naming the field (src/http/storable-input.ts); text
 * that must be kept whatever it holds (tool output, model text, stderr, email bodies, reasons sent
 * through Temporal) goes through `withoutNul` where it is written.
 */

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export const isStorable = (s: string): boolean => !UNSTORABLE.test(s);

/** Each NUL shown as U+2400 (as tool output is), each unpaired surrogate as U+FFFD: nothing is lost silently. */
export function storableText(s: string): string {
  return isStorable(s) ? s : s.replace(UNSTORABLE_ALL, (c) => (c === '\u0000' ? '\u2400' : '\uFFFD'));
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/**
 * `storableText` for every string of a value, object keys included (a jsonb column refuses those
 * too). Arrays and plain objects are walked; anything else (Date, Decimal, Buffer) is kept as is,
 * so a whole Prisma `data` argument may go through it.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), withoutNul(v)])) as T;
  return value;
}

/** The path of the first string (or key) in a value that PostgreSQL could not store, else undefined. */
export function unstorablePath(value: unknown, path: Array<string | number> = []): Array<string | number> | undefined {
  if (typeof value === 'string') return isStorable(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = unstorablePath(v, [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!isStorable(k)) return [...path, k];
      const found = unstorablePath(v, [...path, k]);
      if (found) return found;
    }
  }
  return undefined;
}
