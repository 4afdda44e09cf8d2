/**
 * A fix's timeline (phases, iterations, signals, updates, its end) read from workflow history:
 * the workflow upserts Phase/Iteration search attributes on every phase change, so history
 * already holds the full sequence with server timestamps, no extra bookkeeping needed.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, optionalTsToDate } from '@temporalio/common';
import { IterationKey, PhaseKey } from '../domain/fix/search-attributes.js';

export type TimelineEntry =
  | { at: string; kind: 'started' }
  | { at: string; kind: 'phase'; phase: string; iteration: number }
  | { at: string; kind: 'signal'; name: string }
  | { at: string; kind: 'update'; name: string }
  | { at: string; kind: 'cancel-requested' }
  | { at: string; kind: 'closed'; status: string };

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
type Payload = Parameters<typeof defaultPayloadConverter.fromPayload>[0];

function decode(payload: Payload | null | undefined): unknown {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
}

const CLOSE_EVENTS: Array<[keyof HistoryEvent, string]> = [
  ['workflowExecutionCompletedEventAttributes', 'COMPLETED'],
  ['workflowExecutionFailedEventAttributes', 'FAILED'],
  ['workflowExecutionCanceledEventAttributes', 'CANCELLED'],
  ['workflowExecutionTerminatedEventAttributes', 'TERMINATED'],
  ['workflowExecutionTimedOutEventAttributes', 'TIMED_OUT'],
  ['workflowExecutionContinuedAsNewEventAttributes', 'CONTINUED_AS_NEW'],
];

export function timelineOf(events: HistoryEvent[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let phase = 'queued';
  let iteration = 0;
  for (const e of events) {
    const at = (optionalTsToDate(e.eventTime) ?? new Date(0)).toISOString();
    if (e.workflowExecutionStartedEventAttributes) out.push({ at, kind: 'started' });
    const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    if (fields) {
      const nextPhase = decode(fields[PhaseKey.name]);
      const nextIteration = decode(fields[IterationKey.name]);
      const p = typeof nextPhase === 'string' ? nextPhase : phase;
      const i = typeof nextIteration === 'number' ? nextIteration : iteration;
      if (p !== phase || i !== iteration) out.push({ at, kind: 'phase', phase: p, iteration: i });
      phase = p;
      iteration = i;
    }
    const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
    if (signal) out.push({ at, kind: 'signal', name: signal });
    const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
    if (update) out.push({ at, kind: 'update', name: update });
    if (e.workflowExecutionCancelRequestedEventAttributes) out.push({ at, kind: 'cancel-requested' });
    for (const [attr, status] of CLOSE_EVENTS) if (e[attr]) out.push({ at, kind: 'closed', status });
  }
  return out;
}

export async function fixTimeline(handle: WorkflowHandle): Promise<TimelineEntry[]> {
  const history = await handle.fetchHistory();
  return timelineOf(history.events ?? []);
}
