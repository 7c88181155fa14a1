import {
  SPREAD_WINDOW_SECONDS,
  effectiveOffsetSeconds,
  scheduleOffsetSeconds,
} from '../../../src/schedules/spread.js';

describe('schedule spread', () => {
  it('gives each schedule a stable offset within the window', () => {
    const a = scheduleOffsetSeconds('d1', 'daily');
    expect(scheduleOffsetSeconds('d1', 'daily')).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(SPREAD_WINDOW_SECONDS);
    const offsets = new Set(
      Array.from({ length: 20 }, (_, i) => scheduleOffsetSeconds('d1', `s${i}`)),
    );
    expect(offsets.size).toBeGreaterThan(1);
  });

  it('applies the offset only when the deployment spreads its schedules', () => {
    expect(effectiveOffsetSeconds({ offsetSeconds: 42 }, { spreadSchedules: true })).toBe(42);
    expect(effectiveOffsetSeconds({ offsetSeconds: 42 }, { spreadSchedules: false })).toBe(0);
  });
});
