import type { ModelScript, ReplyBlock } from '../../dev/stand-ins/anthropic-api.js';

/**
 * A scenario with one extra turn inserted at `at`; later turns shift by one. Insert only before a
 * step that does not check the previous tool results (pagination: turn 2).
 */
export function withExtraTurn(script: ModelScript, at: number, extra: ReplyBlock[]): ModelScript {
  return (req, turn) => (turn === at ? extra : script(req, turn > at ? turn - 1 : turn));
}
