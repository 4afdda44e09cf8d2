/**
 * Bounded capture of a command's output stream: keeps the first and the last bytes and counts
 * what fell in between, so a command printing 50 MB costs the worker a fixed amount of memory.
 */

export class OutputCapture {
  private readonly head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  total = 0;

  constructor(
    private readonly headMax = 64 * 1024,
    private readonly tailMax = 64 * 1024,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.total += chunk.length;
    if (this.headLen < this.headMax) {
      const take = chunk.subarray(0, this.headMax - this.headLen);
      this.head.push(take);
      this.headLen += take.length;
      chunk = chunk.subarray(take.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailLen += chunk.length;
    // Drop whole chunks from the front while the rest still covers the tail window.
    while (this.tail.length > 1 && this.tailLen - this.tail[0]!.length >= this.tailMax) {
      this.tailLen -= this.tail.shift()!.length;
    }
  }

  /** Bytes dropped between head and tail. */
  get cutBytes(): number {
    return Math.max(0, this.total - this.headLen - Math.min(this.tailLen, this.tailMax));
  }

  /** The exact bytes, or undefined when some were cut. */
  bytes(): Buffer | undefined {
    return this.cutBytes === 0 ? Buffer.concat([...this.head, ...this.tail]) : undefined;
  }

  /** The bytes kept: exact when nothing was cut, else head, "[... N bytes cut ...]", tail. */
  kept(): Buffer {
    const exact = this.bytes();
    if (exact) return exact;
    const tail = Buffer.concat(this.tail);
    const marker = Buffer.from(`\n[... ${this.cutBytes} bytes cut ...]\n`);
    return Buffer.concat([...this.head, marker, tail.subarray(Math.max(0, tail.length - this.tailMax))]);
  }

  /**
   * Text for the model, at most about `maxBytes` of output: binary output is described rather
   * than dumped (NUL bytes are noise to a model), and cut output keeps its head and tail and says
   * how many bytes are missing in between.
   */
  text(maxBytes = Number.POSITIVE_INFINITY): string {
    const tail = Buffer.concat(this.tail);
    const tailKept = tail.subarray(Math.max(0, tail.length - this.tailMax));
    const head = Buffer.concat(this.head);
    if (head.includes(0) || tailKept.includes(0)) {
      return `[binary output: ${this.total} bytes, not shown; pipe it through \`od -c | head\` or \`base64\` to inspect]`;
    }
    if (this.cutBytes === 0 && this.total <= maxBytes) return Buffer.concat([head, tailKept]).toString('utf8');
    const budget = Math.min(maxBytes, this.headMax + this.tailMax);
    const h = head.subarray(0, Math.min(head.length, Math.ceil(budget * 0.6)));
    const t = tailKept.subarray(Math.max(0, tailKept.length - Math.floor(budget * 0.4)));
    const cut = this.total - h.length - t.length;
    return `${h.toString('utf8')}\n[... ${cut} bytes cut ...]\n${t.toString('utf8')}`;
  }
}
