/**
 * Creates a Schedule, or updates it in place when it exists: every worker start may call it, and a
 * second call just refreshes the interval and action. Overlap SKIP: a slow run is not stacked up
 * behind by the next tick.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { Duration } from '@temporalio/common';

export async function upsertIntervalSchedule(client: Client, scheduleId: string, every: Duration, action: ScheduleOptionsAction): Promise<string> {
  const spec = { intervals: [{ every }] };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule
      .getHandle(scheduleId)
      .update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.SKIP } }));
  }
  return scheduleId;
}
