/** Keeps the head and the tail of long output and says how much was cut in between. */
export function truncateMiddle(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const keep = Math.max(0, maxChars - 80);
  const head = text.slice(0, Math.ceil(keep * 0.6));
  const tail = text.slice(text.length - Math.floor(keep * 0.4));
  const cut = text.length - head.length - tail.length;
  return `${head}\n[... ${cut} characters cut ...]\n${tail}`;
}
