import type { ExistingSchedule, WantedSchedule } from '../../../src/schedules/schedule-sync.js';
import { planScheduleSync, summaryOf } from '../../../src/schedules/schedule-sync.js';

const wanted = (name: string, over: Partial<WantedSchedule> = {}): WantedSchedule => ({
  name,
  position: 0,
  interval: '@daily',
  cron: '0 0 * * *',
  job: 'load',
  extractor: null,
  loader: null,
  transform: null,
  env: [['A', '1']],
  invalidReason: null,
  ...over,
});

const existing = (name: string, over: Partial<ExistingSchedule> = {}): ExistingSchedule => {
  const { name: _name, ...fields } = wanted(name);
  return { id: `id-${name}`, name, ...fields, archivedAt: null, ...over } as ExistingSchedule;
};

describe('planScheduleSync', () => {
  it('creates new schedules disabled', () => {
    const plan = planScheduleSync([], [wanted('daily')]);
    expect(plan.create).toEqual([
      { name: 'daily', data: expect.objectContaining({ enabled: false, archivedAt: null }) },
    ]);
    expect(plan.update).toEqual([]);
    expect(plan.archive).toEqual([]);
  });

  it('leaves unchanged schedules alone', () => {
    const plan = planScheduleSync([existing('daily')], [wanted('daily')]);
    expect(plan).toEqual({ create: [], update: [], archive: [], invalid: [] });
  });

  it('updates changed schedules in place, keeping their enabled flag', () => {
    const plan = planScheduleSync(
      [existing('daily'), existing('env')],
      [wanted('daily', { job: 'other' }), wanted('env', { env: { A: '2' } })],
    );
    expect(plan.update.map((u) => u.id)).toEqual(['id-daily', 'id-env']);
    for (const u of plan.update) expect(u.data).not.toHaveProperty('enabled');
    expect(plan.update[0]!.data.job).toBe('other');
  });

  it('disables a changed schedule that became invalid or manual-only', () => {
    const plan = planScheduleSync(
      [existing('bad'), existing('manual')],
      [
        wanted('bad', { cron: null, invalidReason: 'unknown job' }),
        wanted('manual', { interval: '@manual', cron: null }),
      ],
    );
    expect(plan.update.map((u) => u.data.enabled)).toEqual([false, false]);
    expect(plan.invalid).toEqual(['bad']);
  });

  it('archives removed schedules once, and unarchives those that return', () => {
    const archivedAt = new Date('2026-01-01T00:00:00Z');
    const plan = planScheduleSync(
      [existing('gone'), existing('long-gone', { archivedAt }), existing('back', { archivedAt })],
      [wanted('back')],
    );
    expect(plan.archive).toEqual([{ id: 'id-gone', name: 'gone' }]);
    expect(plan.update).toEqual([
      { id: 'id-back', name: 'back', data: expect.objectContaining({ archivedAt: null }) },
    ]);
    expect(plan.update[0]!.data).not.toHaveProperty('enabled');
  });

  it('lists invalid schedules even when nothing else changes', () => {
    const plan = planScheduleSync(
      [existing('bad', { cron: null, invalidReason: 'no job' })],
      [wanted('bad', { cron: null, invalidReason: 'no job' })],
    );
    expect(plan.update).toEqual([]);
    expect(plan.invalid).toEqual(['bad']);
  });
});

describe('summaryOf', () => {
  it('names what a plan adds, updates, archives and cannot enable', () => {
    const plan = planScheduleSync(
      [existing('changed'), existing('gone')],
      [wanted('new', { cron: null, invalidReason: 'x' }), wanted('changed', { loader: 'l' })],
    );
    expect(summaryOf(plan)).toEqual({
      added: ['new'],
      updated: ['changed'],
      archived: ['gone'],
      invalid: ['new'],
    });
  });
});
