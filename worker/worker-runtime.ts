import { Injectable, Logger, Optional } from '@nestjs/common';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { ZodError } from 'zod';
import { AppConfig } from '../src/config/app-config.js';
import { requestContext } from '../src/common/request-context.js';
import { JobHandlerRegistry } from '../src/queue/job-handlers.js';
import {
  jobNames,
  parsePayload,
  queueNames,
  type JobName,
  type QueueName,
} from '../src/queue/jobs.js';
import { QueueService } from '../src/queue/queue.service.js';
import { croniterRepeatStrategy } from '../src/schedules/interval.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';

/**
 * Runs BullMQ workers for every queue. Payloads are validated before a
 * handler sees them; a handler's error is re-thrown so BullMQ retries it.
 */
@Injectable()
export class WorkerRuntime {
  private readonly logger = new Logger('worker');
  private readonly workers: Worker[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly queues: QueueService,
    private readonly registry: JobHandlerRegistry,
    @Optional() private readonly metrics?: WorkerMetrics,
  ) {}

  get running(): boolean {
    return this.workers.length > 0;
  }

  async start(only?: readonly QueueName[]): Promise<void> {
    this.registry.assertComplete();
    const configured = this.config.worker.queues;
    for (const name of configured ?? [])
      if (!(queueNames as readonly string[]).includes(name))
        throw new Error(`WORKER_QUEUES: unknown queue ${name} (known: ${queueNames.join(', ')})`);
    only ??= (configured as QueueName[] | undefined) ?? queueNames;
    for (const queue of only) {
      const worker = new Worker(queue, (job, token) => this.process(job, token), {
        connection: this.queues.createConnection(`worker:${queue}`),
        prefix: this.queues.prefix,
        concurrency:
          queue === 'schedules'
            ? this.config.worker.tickConcurrency
            : this.config.worker.concurrency,
        // A worker that dies mid-job loses its lock; another worker takes the job back.
        lockDuration: 30_000,
        stalledInterval: 15_000,
        maxStalledCount: 2,
        // The next tick of a schedule is computed as the queue computes the first one.
        settings: { repeatStrategy: croniterRepeatStrategy },
      });
      worker.on('failed', (job, err) => {
        this.metrics?.jobFailures.inc({ queue, job: job?.name ?? 'unknown' });
        this.logger.warn({
          job_id: job?.id,
          job: job?.name,
          attempts: job?.attemptsMade,
          err: err.message,
        });
      });
      worker.on('error', (err) => this.logger.error(err));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.logger.log(`worker taking jobs from ${only.join(', ')}`);
  }

  private async process(job: Job, token?: string): Promise<void> {
    const name = job.name as JobName;
    if (!jobNames.includes(name)) throw new UnrecoverableError(`unknown job type ${job.name}`);
    const handler = this.registry.get(name);
    if (!handler) throw new UnrecoverableError(`no handler for ${job.name}`);
    let payload;
    try {
      payload = parsePayload(name, job.data);
    } catch (err) {
      // A payload that does not match its schema will never succeed: do not retry it.
      throw new UnrecoverableError(
        err instanceof ZodError ? `invalid payload: ${err.message}` : String(err),
      );
    }
    await requestContext.run({ requestId: `job:${job.id ?? '?'}`, jobId: job.id }, () =>
      handler(payload, job, token),
    );
  }

  /**
   * Drains: stop taking jobs, let jobs in hand finish within the shutdown
   * timeout, then return even if some are still running, so the process
   * exits on time. Those jobs are handed back: their locks are no longer
   * renewed once the process is gone, and another worker's stalled-job check
   * takes them again. A run is never started twice (its state machine only
   * starts a queued run; a running one is re-attached or failed "worker lost").
   */
  async stop(): Promise<void> {
    const workers = this.workers.splice(0);
    if (!workers.length) return;
    this.logger.log('draining: no new jobs, waiting for jobs in hand');
    await Promise.all(workers.map((w) => w.pause(true).catch(() => undefined)));
    // close() waits for the jobs in hand; a second close(true) would only return this same promise
    // (BullMQ keeps the first), so the timeout is enforced here, by not waiting any longer.
    const graceful = Promise.all(workers.map((w) => w.close())).then(
      () => false,
      (err: unknown) => {
        this.logger.warn(`closing the queue workers failed: ${String(err)}`);
        return false;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      graceful,
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.config.shutdownTimeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.logger.warn(
        `shutdown timeout (${this.config.shutdownTimeoutMs} ms): handing unfinished jobs back to the queue`,
      );
    }
  }
}
