// Creates a Temporal Schedule, or updates the one already there (spec, action, policies): what
// `logs schedule`, `audit schedule` and `setup` do for each of the product's schedules.
import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';

export async function upsertSchedule(client: Client, options: Pick<ScheduleOptions, 'scheduleId' | 'spec' | 'action' | 'policies'> & { description: string }): Promise<'created' | 'updated'> {
  const { scheduleId, spec, action, policies, description } = options;
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, memo: { description } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
    return 'updated';
  }
}
