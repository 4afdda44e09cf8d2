/**
 * Old tool results are replaced by a short note once they are far behind: the model rarely needs
 * them verbatim and they are re-sent (as cache reads) on every turn. Elision moves in batches so
 * the conversation prefix, and with it the prompt cache, changes only once per batch.
 */
export const KEEP_RECENT_TURNS = 8;
export const ELIDE_BATCH_TURNS = 8;
export const ELIDE_MIN_CHARS = 600;

/** Turns with index below this (0-based) have their long tool results elided. */
export function elisionBoundary(turnCount: number): number {
  const behind = turnCount - KEEP_RECENT_TURNS;
  return behind <= 0 ? 0 : Math.floor(behind / ELIDE_BATCH_TURNS) * ELIDE_BATCH_TURNS;
}

export function elidedNote(chars: number): string {
  return `[output elided to save context: ${chars} characters; run the tool again if you need it]`;
}
