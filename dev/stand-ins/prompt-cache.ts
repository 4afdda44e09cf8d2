/**
 * The stand-in's model of Anthropic prompt caching: a request's blocks in cache order (tools,
 * system, messages); `cache_control` marks breakpoints; a prefix written at a breakpoint is read
 * back by a later request whose blocks up to some position (at most 20 blocks before one of its
 * breakpoints) hash the same. cache_control itself is not part of the content.
 */
import { createHash } from 'node:crypto';

const LOOKBACK_BLOCKS = 20;
const MIN_CACHEABLE_TOKENS = 1024;

export const approxTokens = (value: unknown) => Math.ceil(JSON.stringify(value ?? '').length / 4);

interface Block {
  tokens: number;
  breakpoint: boolean;
  content: unknown;
}

function withoutCacheControl(block: unknown): unknown {
  if (!block || typeof block !== 'object') return block;
  const { cache_control: _ignored, ...rest } = block as Record<string, unknown>;
  return rest;
}

function blocksOf(req: { tools?: unknown[]; system?: unknown; messages: Array<{ role: string; content: unknown }> }): Block[] {
  const out: Block[] = [];
  const push = (b: unknown) => {
    const breakpoint = !!b && typeof b === 'object' && 'cache_control' in (b as object);
    const content = withoutCacheControl(b);
    out.push({ tokens: approxTokens(content), breakpoint, content });
  };
  for (const t of req.tools ?? []) push(t);
  if (typeof req.system === 'string') push({ type: 'text', text: req.system });
  else for (const b of (req.system as unknown[] | undefined) ?? []) push(b);
  for (const m of req.messages) {
    if (typeof m.content === 'string') push({ role: m.role, text: m.content });
    else for (const b of m.content as unknown[]) push({ role: m.role, ...(b as object) });
  }
  return out;
}

export interface CacheUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export class PromptCache {
  private readonly written = new Set<string>();

  usageFor(req: Parameters<typeof blocksOf>[0]): CacheUsage {
    const blocks = blocksOf(req);
    const hashes: string[] = [];
    const cumulative: number[] = [];
    const h = createHash('sha256');
    let total = 0;
    for (const b of blocks) {
      h.update(JSON.stringify(b.content));
      hashes.push(h.copy().digest('hex'));
      total += b.tokens;
      cumulative.push(total);
    }
    const breakpoints = blocks.flatMap((b, i) => (b.breakpoint ? [i] : []));
    let read = 0;
    for (const bp of breakpoints) {
      for (let i = bp; i >= Math.max(0, bp - LOOKBACK_BLOCKS); i--) {
        if (this.written.has(hashes[i]!)) {
          read = Math.max(read, cumulative[i]!);
          break;
        }
      }
    }
    const last = breakpoints[breakpoints.length - 1];
    let creation = 0;
    if (last !== undefined && cumulative[last]! > read && cumulative[last]! >= MIN_CACHEABLE_TOKENS) {
      creation = cumulative[last]! - read;
      for (const bp of breakpoints) this.written.add(hashes[bp]!);
    }
    return { input_tokens: total - read - creation, cache_creation_input_tokens: creation, cache_read_input_tokens: read };
  }
}
