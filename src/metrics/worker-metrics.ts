import { Global, Injectable, Module, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QueueService } from '../queue/queue.service.js';
import { UsageLedgerRepository } from '../billing/usage-ledger.repository.js';

/** Steps of a run's start: queued → admitted → started (executor's first process) → pipeline. */
export type StartStep = 'admitted' | 'started' | 'pipeline';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The worker's Prometheus metrics, served on its own port (WORKER_METRICS_PORT, see
 * worker/metrics-server.ts); the API keeps its own `/metrics`. Names match the bench figures.
 */
@Injectable()
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly tickLag: Histogram;
  readonly startLatency: Histogram<'step'>;
  readonly runsDispatched: Counter;
  readonly runsFinished: Counter<'status'>;
  readonly deployDuration: Histogram<'outcome'>;
  readonly jobFailures: Counter<'queue' | 'job'>;
  readonly notificationDeliveries: Counter<'job' | 'outcome'>;
  readonly executorErrors: Counter<'executor' | 'operation'>;
  private inFlight: () => number = () => 0;

  constructor(queues: QueueService, @Optional() ledger?: UsageLedgerRepository) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.tickLag = new Histogram({
      name: 'schedule_tick_lag_seconds',
      help: 'Schedule tick time → its run row written (skipped ticks included)',
      buckets: latencyBuckets,
      registers,
    });
    this.startLatency = new Histogram({
      name: 'run_start_latency_seconds',
      help: 'Run start latency per step: queued → admitted, admitted → started (executor process or Job), started → pipeline',
      labelNames: ['step'],
      buckets: latencyBuckets,
      registers,
    });
    this.runsDispatched = new Counter({
      name: 'runs_dispatched_total',
      help: 'Runs admitted past their concurrency limits and handed to the executor',
      registers,
    });
    this.runsFinished = new Counter({
      name: 'runs_finished_total',
      help: 'Runs that reached a final status, by status',
      labelNames: ['status'],
      registers,
    });
    const inFlight = () => this.inFlight();
    new Gauge({
      name: 'runs_in_flight',
      help: 'Runs this worker is executing or following now',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    this.deployDuration = new Histogram({
      name: 'deploy_duration_seconds',
      help: 'Deploy attempts (clone, read meltano.yml, sync schedules), by outcome',
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    new Gauge({
      name: 'queue_jobs',
      help: 'BullMQ jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        try {
          for (const [queue, counts] of Object.entries(await queues.depths()))
            for (const [state, count] of Object.entries(counts)) this.set({ queue, state }, count);
        } catch {
          // Redis down: the figures stay as they were; the endpoint keeps answering.
        }
      },
    });
    this.jobFailures = new Counter({
      name: 'queue_job_failures_total',
      help: 'Failed attempts of queue jobs (retried or not), by queue and job',
      labelNames: ['queue', 'job'],
      registers,
    });
    this.notificationDeliveries = new Counter({
      name: 'notification_deliveries_total',
      help: 'Notification delivery attempts, by job and outcome (delivered or failed)',
      labelNames: ['job', 'outcome'],
      registers,
    });
    this.executorErrors = new Counter({
      name: 'executor_errors_total',
      help: 'Executor calls that threw (starting or re-attaching a run), by executor',
      labelNames: ['executor', 'operation'],
      registers,
    });
    new Gauge({
      name: 'usage_report_lag_seconds',
      help: 'Age of the oldest billable usage ledger row Stripe has not accepted yet (0 when none)',
      registers,
      async collect() {
        if (!ledger) return;
        try {
          const [oldest] = await ledger.unreportedAcrossTenants(1);
          this.set(oldest ? (Date.now() - oldest.createdAt.getTime()) / 1000 : 0);
        } catch {
          // PostgreSQL down: /readyz of the API reports it.
        }
      },
    });
  }

  /** Where `runs_in_flight` is read from (the run supervisor). */
  countInFlightWith(source: () => number): void {
    this.inFlight = source;
  }

  observeStep(step: StartStep, from: Date | null, to: Date): void {
    if (from)
      this.startLatency.observe({ step }, Math.max(0, to.getTime() - from.getTime()) / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Provides WorkerMetrics to every module of the worker (the API does not load it). */
@Global()
@Module({ providers: [WorkerMetrics], exports: [WorkerMetrics] })
export class WorkerMetricsModule {}
