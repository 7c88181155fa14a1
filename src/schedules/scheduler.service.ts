import { isUniqueViolation } from '../common/db-errors.js';
import { effectiveOffsetSeconds } from './spread.js';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { OrgId } from '../database/org-id.js';
import { SystemRepository } from '../database/system.repository.js';
import { QueueService } from '../queue/queue.service.js';
import { SCHEDULE_TICK_KEY_PREFIX } from '../queue/jobs.js';
import { nextFireAfter, nextFireTimes } from './interval.js';
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
/** Redis commands of a reconcile in flight at once (pipelined on the one connection). */
const RECONCILE_IN_FLIGHT = 1000;
/**
 * Skipped ticks told and late ticks recorded at once by a batch (each a few statements), below
 * the pool's 10 connections so the next batch's insert still finds one.
 */
const BATCH_FOLLOW_UP_IN_FLIGHT = 6;
/** Schedules read per query by a full reconcile or a catch-up (keyset pages, few columns). */
const SCHEDULES_PAGE = 5000;

/**
 * Runs tasks with at most `limit` in flight: the next starts as soon as one ends (no barrier
 * between chunks), so the connection's pipeline stays full. The first failure is thrown by the
 * next `add` or by `drain`, after the tasks in flight settled.
 */
class InFlight {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private failure: { err: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async add(task: () => Promise<unknown>): Promise<void> {
    while (this.running >= this.limit) await new Promise<void>((wake) => this.waiting.push(wake));
    if (this.failure) {
      await this.drain();
      return;
    }
    this.running++;
    void task()
      .catch((err: unknown) => (this.failure ??= { err }))
      .finally(() => {
        this.running--;
        this.waiting.shift()?.();
      });
  }

  async drain(): Promise<void> {
    while (this.running > 0) await new Promise<void>((wake) => this.waiting.push(wake));
    if (this.failure) throw this.failure.err;
  }
}

/** Ticks arriving within this window are handled as one batch. */
export const TICK_BATCH_WINDOW_MS = 10;
/** A batch is handled at once when it reaches this many ticks. */
export const TICK_BATCH_MAX = 1000;

interface TickRequest {
  orgId: OrgId;
  scheduleId: string;
  tickAt: Date;
  now: Date;
}
interface PendingTick extends TickRequest {
  resolve: () => void;
  reject: (err: unknown) => void;
}

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
    @Optional() private readonly metrics?: WorkerMetrics,
  ) {}

  private get sentinelKey(): string {
    return `${this.queues.prefix}:schedulers-reconciled`;
  }

  private firesOnTimer(s: ScheduleWithContext): boolean {
    return Boolean(
      s.enabled && !s.archivedAt && !s.invalidReason && s.cron && s.deployment.deployedCommitSha,
    );
  }

  /**
   * Upserts the timers of enabled schedules and removes every other one (all schedules, or one
   * deployment's). Redis commands go out pipelined, up to `RECONCILE_IN_FLIGHT` at a time, not
   * one awaited round trip per schedule (each is BullMQ's own `upsertJobScheduler`, so its key
   * layout is BullMQ's). A full reconcile reads the existing timers first and leaves alone those
   * already on the right cron and timezone, and reads the schedules in keyset pages of the few
   * columns a timer needs.
   */
  async reconcile(deploymentId?: string): Promise<{ upserted: number; removed: number }> {
    const queue = this.queues.queue('schedules');
    const window = new InFlight(RECONCILE_IN_FLIGHT);
    let upserted = 0;
    let removed = 0;
    const upsert = (s: { organizationId: OrgId; id: string; cron: string; timezone: string }) =>
      window.add(() =>
        this.queues.upsertScheduleTick(
          { organizationId: s.organizationId, scheduleId: s.id },
          s.cron,
          s.timezone,
        ),
      );
    const remove = (id: string) =>
      window.add(async () => {
        if (await queue.removeJobScheduler(id)) removed++;
      });
    if (deploymentId) {
      // Reconciliation spans tenants by design: it is the scheduler's own bookkeeping.
      for (const s of await this.system.schedulesAcrossTenants(deploymentId)) {
        if (this.firesOnTimer(s)) {
          upserted++;
          await upsert({ ...s, cron: s.cron ?? '' });
        } else await remove(SCHEDULER_PREFIX + s.id);
      }
      await window.drain();
    } else {
      const existing = new Map<string, string>();
      for (let start = 0; ; start += RECONCILE_IN_FLIGHT) {
        const page = await queue.getJobSchedulers(start, start + RECONCILE_IN_FLIGHT - 1, true);
        for (const timer of page)
          if (timer.key.startsWith(SCHEDULER_PREFIX) && timer.next)
            existing.set(timer.key, `${timer.pattern ?? ''}|${timer.tz ?? ''}`);
        if (page.length < RECONCILE_IN_FLIGHT) break;
      }
      const wanted = new Set<string>();
      for (let after: string | undefined; ;) {
        const page = await this.system.timerSchedulesAcrossTenants(after, SCHEDULES_PAGE);
        for (const s of page) {
          const id = SCHEDULER_PREFIX + s.id;
          wanted.add(id);
          if (existing.get(id) === `${s.cron}|${s.timezone}`) continue;
          upserted++;
          await upsert(s);
        }
        if (page.length < SCHEDULES_PAGE) break;
        after = page.at(-1)?.id;
      }
      for (const id of existing.keys()) if (!wanted.has(id)) await remove(id);
      await window.drain();
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

  /**
   * Handles one timer tick. Ticks arriving within `TICK_BATCH_WINDOW_MS` of each other (thousands
   * fall due on the same minute) are handled together: one read of their schedules, the billing
   * check once per organization, one multi-row insert of their runs and one bulk enqueue. The
   * promise settles with its batch: a batch that fails rejects every tick in it, so each tick's
   * job is retried by the queue (the insert skips ticks already recorded, and their runs still
   * queued are enqueued again: a worker dying mid-batch loses no run).
   */
  tick(orgId: OrgId, scheduleId: string, tickAt: Date, now = new Date()): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ orgId, scheduleId, tickAt, now, resolve, reject });
      if (this.pending.length >= TICK_BATCH_MAX) this.flushTicks();
      else this.batchTimer ??= setTimeout(() => this.flushTicks(), TICK_BATCH_WINDOW_MS);
    });
  }

  private pending: PendingTick[] = [];
  private batchTimer: NodeJS.Timeout | undefined;

  private batchInFlight = false;
  /** The second half of the latest batch (enqueueing its runs, advancing its schedules). */
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Batches go through two stages, one batch in each at a time: reading the schedules and
   * inserting the runs, then enqueueing the runs and advancing the schedules. The next batch is
   * read and inserted while the previous one is enqueued; ticks arriving meanwhile wait for the
   * next batch, so batches grow with the load instead of competing for database connections.
   * Each tick settles with its batch's second stage.
   */
  private flushTicks(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batchInFlight) return;
    const batch = this.pending.splice(0, TICK_BATCH_MAX);
    if (!batch.length) return;
    this.batchInFlight = true;
    const previousTail = this.tail;
    const inserted = this.tickBatch(batch);
    const tail = inserted.then((rest) => rest());
    this.tail = tail.catch(() => undefined);
    tail.then(
      () => batch.forEach((t) => t.resolve()),
      (err: unknown) => batch.forEach((t) => t.reject(err)),
    );
    void Promise.allSettled([inserted, previousTail]).then(() => {
      this.batchInFlight = false;
      if (this.pending.length) this.flushTicks();
    });
  }

  /** A batch up to its runs inserted; resolves to the rest of its work. */
  private async tickBatch(batch: readonly TickRequest[]): Promise<() => Promise<void>> {
    // The same tick delivered twice in one batch (a redelivery) is handled once.
    const unique = new Map<string, TickRequest>();
    for (const t of batch) unique.set(`${t.scheduleId}@${t.tickAt.getTime()}`, t);
    const ticks = [...unique.values()];
    const schedules = new Map(
      (
        await this.system.tickSchedulesAcrossTenants(
          ticks.map((t) => ({ organizationId: t.orgId, scheduleId: t.scheduleId })),
        )
      ).map((s) => [s.id, s]),
    );
    const due: { tick: TickRequest; schedule: ScheduleWithContext & { organizationId: OrgId } }[] =
      [];
    const late: { tick: TickRequest; schedule: ScheduleWithContext }[] = [];
    for (const tick of ticks) {
      const schedule = schedules.get(tick.scheduleId);
      if (!schedule || !this.firesOnTimer(schedule)) continue;
      if (schedule.lastTickAt && tick.tickAt <= schedule.lastTickAt) continue; // already accounted for
      if (tick.now.getTime() - tick.tickAt.getTime() > LATE_AFTER_MS) {
        late.push({ tick, schedule });
        continue;
      }
      due.push({ tick, schedule });
    }
    const rest = await this.tickDue(due);
    return async () => {
      await rest();
      // Ticks handled too late are recorded as missed after the on-time ones are written, a few
      // schedules at a time (a worker that fell behind meets a whole minute of them).
      const missed = new InFlight(BATCH_FOLLOW_UP_IN_FLIGHT);
      for (const { tick, schedule } of late)
        await missed.add(() => this.recordMissed(tick.orgId, schedule, tick.now));
      await missed.drain();
    };
  }

  /** Inserts the runs of the ticks due; resolves to the rest (enqueueing them, advancing the schedules). */
  private async tickDue(
    due: { tick: TickRequest; schedule: ScheduleWithContext & { organizationId: OrgId } }[],
  ): Promise<() => Promise<void>> {
    if (!due.length) return () => Promise.resolve();
    // Past a billing limit a tick is recorded as skipped, with the reason: checked once per organization.
    const orgs = [...new Set(due.map((d) => d.tick.orgId))];
    const limits = new Map(
      await Promise.all(orgs.map(async (o) => [o, await this.billingGate.check(o)] as const)),
    );
    const busy = await this.system.schedulesWithUnfinishedRunsAcrossTenants(
      due
        .filter((d) => d.schedule.deployment.concurrencyPolicy === 'skip')
        .map((d) => d.schedule.id),
    );
    const keyOf = (scheduleId: string | null, tickAt: Date | null) =>
      `${scheduleId ?? ''}@${tickAt?.getTime() ?? 0}`;
    const startAt = new Map<string, number>();
    const rows = due.map(({ tick, schedule }) => {
      const limit = limits.get(tick.orgId);
      if (limit) return this.factory.tickRow(schedule, tick.tickAt, { skippedReason: limit });
      if (busy.has(schedule.id))
        return this.factory.tickRow(schedule, tick.tickAt, {
          skippedReason: 'skipped: the previous run of this schedule was still in progress',
        });
      const offsetSeconds = effectiveOffsetSeconds(schedule, schedule.deployment);
      startAt.set(keyOf(schedule.id, tick.tickAt), tick.tickAt.getTime() + offsetSeconds * 1000);
      return this.factory.tickRow(schedule, tick.tickAt, {
        waitingReason: offsetSeconds ? `spread: starts ${offsetSeconds}s after its tick` : null,
      });
    });
    const inserted = await this.system.insertTickRunsAcrossTenants(rows);
    const written = Date.now();
    for (const r of inserted)
      if (r.tickAt) this.metrics?.tickLag.observe((written - r.tickAt.getTime()) / 1000);
    return async () => {
      const toEnqueue = inserted.filter((r) => r.status === 'queued');
      if (inserted.length < rows.length) {
        // Some ticks were recorded before (another worker, or an attempt that died before enqueueing).
        const seen = new Set(inserted.map((r) => keyOf(r.scheduleId, r.tickAt)));
        const earlier = due.filter((d) => !seen.has(keyOf(d.schedule.id, d.tick.tickAt)));
        toEnqueue.push(
          ...(await this.system.queuedTickRunsAcrossTenants(
            earlier.map((d) => ({ scheduleId: d.schedule.id, tickAt: d.tick.tickAt })),
          )),
        );
      }
      const now = Date.now();
      await this.runQueue.enqueueMany(
        toEnqueue.map((r) => ({
          orgId: r.organizationId,
          runId: r.id,
          delayMs: Math.max(0, (startAt.get(keyOf(r.scheduleId, r.tickAt)) ?? now) - now),
        })),
      );
      // Skipped ticks are finished runs (their notifications): told a few at a time, not one
      // after another (every tick of a minute is skipped while the previous runs still go).
      const told = new InFlight(BATCH_FOLLOW_UP_IN_FLIGHT);
      for (const r of inserted)
        if (r.status === 'skipped')
          await told.add(() => this.events.runFinished(r.organizationId, r.id));
      await told.drain();
      await this.system.advanceSchedulesAcrossTenants(
        due.map((d) => ({ scheduleId: d.schedule.id, tickAt: d.tick.tickAt })),
      );
    };
  }

  /**
   * At worker start and periodically: ticks that passed while no worker ran are recorded, then run
   * once late or skipped. After Redis lost its state (`redisLost`), every tick up to `now` whose
   * timer was gone is missed, not only those older than LATE_AFTER_MS: pass the moment the timers
   * were rebuilt as `now` (ticks after it fire from the new timers).
   */
  async catchUpMissed(now = new Date(), options: { redisLost?: boolean } = {}): Promise<number> {
    const cutoff = now.getTime() - (options.redisLost ? 0 : LATE_AFTER_MS);
    let recorded = 0;
    for (let after: string | undefined; ;) {
      // Keyset pages of the few columns the check needs; only schedules with a missed tick are
      // read in full (most have none: their next fire after the last tick is still ahead).
      const page = await this.system.timerSchedulesAcrossTenants(after, SCHEDULES_PAGE);
      await this.system.startSchedulesAcrossTenants(
        page.filter((s) => !s.lastTickAt).map((s) => s.id),
        now,
      );
      const missed = page.filter(
        (s) =>
          s.lastTickAt &&
          (nextFireAfter(s.cron, s.timezone, s.lastTickAt.getTime()) ?? Infinity) <= cutoff,
      );
      if (missed.length) {
        const schedules = await this.system.tickSchedulesAcrossTenants(
          missed.map((s) => ({ organizationId: s.organizationId, scheduleId: s.id })),
        );
        for (const s of schedules)
          if (this.firesOnTimer(s))
            recorded += await this.recordMissed(s.organizationId, s, now, options.redisLost);
      }
      if (page.length < SCHEDULES_PAGE) break;
      after = page.at(-1)?.id;
    }
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
