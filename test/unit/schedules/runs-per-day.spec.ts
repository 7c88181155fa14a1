import { runsPerDay } from '../../../src/schedules/interval.js';
import { cachedRunsPerDay } from '../../../src/schedules/runs-per-day.js';

describe('fires per day, remembered for every caller', () => {
  it('agrees with the computation for common schedules', () => {
    const at = new Date('2026-03-01T00:00:00Z');
    for (const cron of ['0 6 * * *', '*/5 * * * *', '0 * * * *', '30 2 * * 1-5', '0 0 1 * *'])
      expect(cachedRunsPerDay(cron, 'Europe/Berlin', at)).toBe(
        runsPerDay(cron, 'Europe/Berlin', at),
      );
  });

  it('remembers each cron apart', () => {
    const at = new Date('2026-03-01T00:00:00Z');
    expect(cachedRunsPerDay('0 */6 * * *', 'UTC', at)).toBe(4);
    expect(cachedRunsPerDay('0 */12 * * *', 'UTC', at)).toBe(2);
    expect(cachedRunsPerDay('0 */6 * * *', 'UTC', at)).toBe(4);
  });
});
