/** What a jsonb column can hold. */
/**
 * PostgreSQL's jsonb cannot hold U+0000, and a model may write one (in a tool input), a command may print
 * one: stored with each NUL shown as U+2400 (as tool output is) rather than lost.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\u2400') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNul(v)])) as T;
  return value;
}
