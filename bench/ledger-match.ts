/**
 * The ledger against the provider's own record of answered calls, one to one. Every answered call
 * must be covered by exactly one row: its `answered` row (by the provider's request id) or, when
 * its worker died between the answer and the commit, the `lost` row of its reservation (by the
 * reservation key the request carried, CALL_KEY_HEADER). A row may cover one call only; no
 * `pending` row may be left. A `lost` row that covers no answered call is a call that was never
 * answered (aborted in flight): counted at an estimate, and reported, not a mismatch.
 */
export interface ProviderCall {
  requestId: string;
  callKey?: string;
}

export interface LedgerRowRef {
  kind: string;
  callKey: string;
  providerRequestId: string | null;
}

export interface LedgerMatch {
  /** answered calls covered by no row */
  unbilled: ProviderCall[];
  /** rows that name a request the provider never answered, or a second row for one request */
  phantomRows: LedgerRowRef[];
  /** reservations never settled */
  pendingRows: number;
  /** answered calls covered by their `lost` row */
  coveredByLost: number;
  /** `lost` rows with no answered call (aborted before an answer) */
  unansweredLost: number;
  mismatches: number;
}

export function matchLedger(answered: ProviderCall[], rows: LedgerRowRef[]): LedgerMatch {
  const answeredRows = new Map<string, LedgerRowRef>();
  const phantomRows: LedgerRowRef[] = [];
  for (const r of rows.filter((r) => r.kind === 'answered')) {
    if (!r.providerRequestId || answeredRows.has(r.providerRequestId)) phantomRows.push(r);
    else answeredRows.set(r.providerRequestId, r);
  }
  const lostRows = new Map(rows.filter((r) => r.kind === 'lost').map((r) => [r.callKey, r]));
  const unbilled: ProviderCall[] = [];
  let coveredByLost = 0;
  for (const call of answered) {
    if (answeredRows.delete(call.requestId)) continue;
    if (call.callKey !== undefined && lostRows.delete(call.callKey)) coveredByLost += 1;
    else unbilled.push(call);
  }
  phantomRows.push(...answeredRows.values());
  const pendingRows = rows.filter((r) => r.kind === 'pending').length;
  return {
    unbilled,
    phantomRows,
    pendingRows,
    coveredByLost,
    unansweredLost: lostRows.size,
    mismatches: unbilled.length + phantomRows.length + pendingRows,
  };
}
