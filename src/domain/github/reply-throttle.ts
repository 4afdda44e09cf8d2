/**
 * Replies to people who may not ask, at most one per person and project in a window (pure: the
 * caller passes the time). Someone without write access who posts `/bugfix` on 300 issues gets
 * one answer, not 300: the bot does not become the spammer, and the replies do not fill GitHub's
 * content-creation throttle that pull requests and status comments wait in too.
 *
 * A reply is reserved by its marker before it is posted, so concurrent attempts for other issues
 * skip, while a retry of the same reply (same marker) goes ahead; a failed post frees it.
 */
export const DECLINE_REPLY_WINDOW_MS = 10 * 60_000;
const MAX_KEYS = 10_000;

export class ReplyThrottle {
  private readonly held = new Map<string, { marker: string; at: number }>();

  constructor(private readonly windowMs = DECLINE_REPLY_WINDOW_MS) {}

  /** true: post it (reserved under `marker`); false: one was posted for `key` within the window. */
  reserve(key: string, marker: string, now: number): boolean {
    const held = this.held.get(key);
    if (held && held.marker !== marker && now - held.at < this.windowMs) return false;
    if (this.held.size >= MAX_KEYS) this.prune(now);
    this.held.set(key, { marker, at: now });
    return true;
  }

  /** The post failed: the next attempt (of this or another reply) may try. */
  release(key: string, marker: string): void {
    if (this.held.get(key)?.marker === marker) this.held.delete(key);
  }

  private prune(now: number): void {
    for (const [key, v] of this.held) if (now - v.at >= this.windowMs) this.held.delete(key);
  }
}
