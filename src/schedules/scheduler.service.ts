import { isUniqueViolation } from '../common/db-errors.js';
import { effectiveOffsetSeconds } from './spread.js';
import { Injectable, Logger } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import { SystemRepository } from '../database/system.repository.js';
import { QueueService } from '../queue/queue.service.js';
import { SCHEDULE_TICK_KEY_PREFIX } from '../queue/jobs.js';
import { nextFireTimes } from './interval.js';
import { RunEvents } from '../runs/run-events.js';
import { BillingGate } from '../billing/billing-gate.js';
import { RunFactory } from '../runs/run-factory.js';
import { RunQueue } from '../runs/run-queue.js';
import { RunsRepository } from '../runs/runs.repository.js';
import {
  ScheduleTimersRepository,
  type ScheduleWithContext,
} from './schedule-timers.repository.js';

const SCHEDULER_PREFIX = SCHEDULE_TICK_KEY_PREFIX;
/** A tick handled later than this after its time counts as missed (no worker was there to fire it). */
export const LATE_AFTER_MS = 90_000;
const MAX_MISSED_RECORDED = 50;

/** BullMQ names scheduler jobs `repeat:<scheduler id>:<tick millis>`: the tick is in the id. */
export function tickTimeOf(jobId: string | undefined, fallback: number): Date {
  const millis = Number(jobId?.split(':').at(-1));
  return new Date(Number.isFinite(millis) && millis > 0 ? millis : fallback);
}

/**
 * Schedules fire through BullMQ job schedulers; PostgreSQL is the source of
 * truth. Reconciling makes Redis match the enabled schedules, so a Redis that
 * lost everything is rebuilt. One run per tick is enforced by the unique
 * (schedule_id, tick_at) index, whatever the number of workers.
 */
@Injectable()
export class SchedulerService {
  private readonly logger = new Logger(SchedulerService.name);

  constructor(
    private readonly system: SystemRepository,
    private readonly schedules: ScheduleTimersRepository,
    private readonly runs: RunsRepository,
    private readonly factory: RunFactory,
    private readonly runQueue: RunQueue,
    private readonly queues: QueueService,
    private readonly events: RunEvents,
    private readonly billingGate: BillingGate,
  ) {}

  private get sentinelKey(): string {
    return `${this.queues.prefix}:schedulers-reconciled`;
  }

  private firesOnTimer(s: ScheduleWithContext): boolean {
    return Boolean(
      s.enabled && !s.archivedAt && !s.invalidReason && s.cron && s.deployment.deployedCommitSha,
    );
  }

  /** Upserts the timers of enabled schedules and removes every other one (all schedules, or one deployment's). */
  async reconcile(deploymentId?: string): Promise<{ upserted: number; removed: number }> {
    // Reconciliation spans tenants by design: it is the scheduler's own bookkeeping.
    const schedules = await this.system.schedulesAcrossTenants(deploymentId);
    const queue = this.queues.queue('schedules');
    const wanted = new Set<string>();
    let upserted = 0;
    for (const s of schedules) {
      const id = SCHEDULER_PREFIX + s.id;
      if (!this.firesOnTimer(s)) continue;
      wanted.add(id);
      await this.queues.upsertScheduleTick(
        { organizationId: s.organizationId, scheduleId: s.id },
        s.cron ?? '',
        s.timezone,
      );
      upserted++;
    }
    let removed = 0;
    if (deploymentId) {
      for (const s of schedules) {
        const id = SCHEDULER_PREFIX + s.id;
        if (!wanted.has(id) && (await queue.removeJobScheduler(id))) removed++;
      }
    } else {
      for (let start = 0; ; start += 500) {
        const existing = await queue.getJobSchedulers(start, start + 499, true);
        for (const scheduler of existing) {
          if (scheduler.key.startsWith(SCHEDULER_PREFIX) && !wanted.has(scheduler.key)) {
            await queue.removeJobScheduler(scheduler.key);
            removed++;
          }
        }
        if (existing.length < 500) break;
      }
      await this.queues.connection.set(this.sentinelKey, new Date().toISOString());
    }
    if (upserted || removed)
      this.logger.log({ msg: 'schedulers reconciled', deploymentId, upserted, removed });
    return { upserted, removed };
  }

  /** True when Redis has lost our state (e.g. restarted without persistence) and a full reconcile is due. */
  async redisLostState(): Promise<boolean> {
    return (await this.queues.connection.exists(this.sentinelKey)) === 0;
  }

  /** Handles one timer tick. */
  async tick(orgId: OrgId, scheduleId: string, tickAt: Date, now = new Date()): Promise<void> {
    const schedule = await this.schedules.findWithContext(orgId, scheduleId);
    if (!schedule || !this.firesOnTimer(schedule)) return;
    if (schedule.lastTickAt && tickAt <= schedule.lastTickAt) return; // already accounted for
    if (now.getTime() - tickAt.getTime() > LATE_AFTER_MS) {
      await this.recordMissed(orgId, schedule, now);
      return;
    }
    // Past a billing limit the tick is recorded as skipped, with the reason (one row per tick).
    const billingLimit = await this.billingGate.check(orgId);
    if (billingLimit) await this.createSkipped(orgId, schedule, tickAt, billingLimit);
    else await this.createTickRun(orgId, schedule, tickAt, null);
    await this.schedules.advance(orgId, schedule.id, tickAt);
  }

  /**
   * At worker start and periodically: ticks that passed while no worker ran are recorded, then run
   * once late or skipped. After Redis lost its state (`redisLost`), every tick up to `now` whose
   * timer was gone is missed, not only those older than LATE_AFTER_MS: pass the moment the timers
   * were rebuilt as `now` (ticks after it fire from the new timers).
   */
  async catchUpMissed(now = new Date(), options: { redisLost?: boolean } = {}): Promise<number> {
    const schedules = await this.system.timedSchedulesAcrossTenants();
    let recorded = 0;
    for (const s of schedules)
      if (this.firesOnTimer(s))
        recorded += await this.recordMissed(s.organizationId, s, now, options.redisLost);
    return recorded;
  }

  private async recordMissed(
    orgId: OrgId,
    schedule: ScheduleWithContext,
    now: Date,
    redisLost = false,
  ): Promise<number> {
    if (!schedule.cron) return 0;
    if (!schedule.lastTickAt) {
      await this.schedules.advance(orgId, schedule.id, now);
      return 0;
    }
    const cutoff = now.getTime() - (redisLost ? 0 : LATE_AFTER_MS);
    const why = redisLost ? 'Redis had lost its timers' : 'no worker was running';
    // Walk forward in batches and stop at the cutoff: a schedule off for a year must not cost a year of ticks.
    const ticks: Date[] = [];
    let from = schedule.lastTickAt;
    for (let batch = 0; batch < 200; batch++) {
      const next = nextFireTimes(schedule.cron, schedule.timezone, from, 100);
      const due = next.filter((t) => t.getTime() <= cutoff);
      ticks.push(...due);
      if (ticks.length > MAX_MISSED_RECORDED) ticks.splice(0, ticks.length - MAX_MISSED_RECORDED);
      const last = next.at(-1);
      if (due.length < next.length || !last) break;
      from = last;
    }
    if (!ticks.length) return 0;
    const recordedTicks = ticks.slice(-MAX_MISSED_RECORDED);
    const last = recordedTicks.at(-1) as Date;
    const runLate = schedule.deployment.missedRunPolicy === 'run_once';
    for (const tick of recordedTicks) {
      if (tick === last && runLate) {
        await this.createTickRun(
          orgId,
          schedule,
          tick,
          `late: missed at ${tick.toISOString()} while ${why}`,
        );
      } else {
        await this.createSkipped(orgId, schedule, tick, `missed: ${why} at ${tick.toISOString()}`);
      }
    }
    await this.schedules.advance(orgId, schedule.id, last);
    this.logger.warn({
      msg: 'missed ticks recorded',
      schedule: schedule.id,
      count: ticks.length,
      runLate,
      why,
    });
    return recordedTicks.length;
  }

  private async createSkipped(
    orgId: OrgId,
    schedule: ScheduleWithContext,
    tickAt: Date,
    reason: string,
  ): Promise<void> {
    try {
      const run = await this.factory.skipped(orgId, schedule, tickAt, reason);
      await this.events.runFinished(orgId, run.id);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err; // the tick was already handled by another worker
    }
  }

  private async createTickRun(
    orgId: OrgId,
    schedule: ScheduleWithContext,
    tickAt: Date,
    lateReason: string | null,
  ): Promise<void> {
    const { deployment } = schedule;
    if (deployment.concurrencyPolicy === 'skip') {
      if (await this.runs.countUnfinishedOfSchedule(orgId, schedule.id)) {
        await this.createSkipped(
          orgId,
          schedule,
          tickAt,
          'skipped: the previous run of this schedule was still in progress',
        );
        return;
      }
    }
    const offsetSeconds = effectiveOffsetSeconds(schedule, deployment);
    const offsetMs = offsetSeconds * 1000;
    const waiting = [
      lateReason,
      offsetSeconds ? `spread: starts ${offsetSeconds}s after its tick` : null,
    ].filter(Boolean);
    try {
      const run = await this.factory.tick(
        orgId,
        schedule,
        tickAt,
        waiting.length ? waiting.join('; ') : null,
      );
      await this.runQueue.enqueue(
        orgId,
        run.id,
        Math.max(0, tickAt.getTime() + offsetMs - Date.now()),
      );
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
}
