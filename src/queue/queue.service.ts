import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { croniterRepeatStrategy } from '../schedules/interval.js';
import {
  jobDefinitions,
  parsePayload,
  policyOf,
  recurringJobs,
  scheduleTickKey,
  type JobPolicy,
  queueNames,
  queueOf,
  type JobName,
  type JobPayload,
  type QueueName,
} from './jobs.js';

export interface EnqueueOptions {
  /** Start no earlier than this many milliseconds from now. */
  delayMs?: number;
}

/**
 * How long a command of the shared producer connection may wait for Redis (queued while it
 * reconnects, or sent to a Redis that does not answer) before it fails.
 */
export const PRODUCER_COMMAND_TIMEOUT_MS = 5_000;

/** Per-process tuning of a job's declared policy (tests shorten backoffs; nothing else changes them). */
export type PolicyTuning = Partial<Pick<JobPolicy<unknown>, 'attempts' | 'backoffMs'>>;

/**
 * Owns the Redis connections and the BullMQ queues of a process. Producers
 * share one connection; workers (see worker/) open their own blocking ones
 * through `createConnection`.
 */
@Injectable()
export class QueueService implements OnModuleDestroy {
  private readonly logger = new Logger(QueueService.name);
  readonly connection: Redis;
  private readonly queues = new Map<QueueName, Queue>();
  private readonly extraConnections: Redis[] = [];
  private readonly tuning = new Map<JobName, PolicyTuning>();

  constructor(private readonly config: AppConfig) {
    this.connection = this.createConnection('producer');
  }

  get prefix(): string {
    return this.config.redis.prefix;
  }

  createConnection(name: string): Redis {
    const connection = new Redis(this.config.redis.url, {
      ...(name === 'producer'
        ? // Commands of requests and producers fail fast while Redis is unreachable (the API
          // answers 503 with Retry-After, callers retry) instead of waiting for it forever.
          { maxRetriesPerRequest: 1, commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS }
        : // BullMQ workers block on Redis; they must retry forever instead of failing commands.
          { maxRetriesPerRequest: null }),
      connectionName: `mc:${name}`,
      lazyConnect: false,
    });
    connection.on('error', (err: Error) => this.logger.warn(`redis (${name}): ${err.message}`));
    if (name !== 'producer') this.extraConnections.push(connection);
    return connection;
  }

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection,
        prefix: this.prefix,
        // Schedule ticks fire at croniter's times (Meltano's cron semantics), not cron-parser's.
        settings: { repeatStrategy: croniterRepeatStrategy },
      });
      queue.on('error', (err: Error) => this.logger.warn(`queue ${name}: ${err.message}`));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Changes a job's declared attempts or backoff in this process (for tests). */
  tunePolicy(name: JobName, tuning: PolicyTuning): void {
    this.tuning.set(name, { ...this.tuning.get(name), ...tuning });
  }

  private jobOptions<N extends JobName>(name: N, payload: JobPayload<N>): JobsOptions {
    const policy = { ...policyOf(name), ...this.tuning.get(name) };
    const jobId = policy.jobId?.(payload);
    return {
      attempts: policy.attempts,
      backoff: { type: 'exponential', delay: policy.backoffMs },
      ...(policy.removeWhenDone
        ? { removeOnComplete: true, removeOnFail: true }
        : {
            removeOnComplete: { age: 24 * 3600, count: 1000 },
            removeOnFail: { age: 7 * 24 * 3600 },
          }),
      ...(jobId ? { jobId } : {}),
    };
  }

  /** Enqueues a job with its catalog policy; a job with a fixed id is enqueued at most once while it lives. */
  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options: EnqueueOptions = {},
  ): Promise<void> {
    const data = parsePayload(name, payload);
    await this.queue(queueOf(name)).add(name, data, {
      ...this.jobOptions(name, data),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
    });
  }

  /** Enqueues many jobs of one kind in one round trip (BullMQ `addBulk`), each with its catalog policy. */
  async enqueueBulk<N extends JobName>(
    name: N,
    jobs: readonly { payload: JobPayload<N>; delayMs?: number }[],
  ): Promise<void> {
    if (!jobs.length) return;
    await this.queue(queueOf(name)).addBulk(
      jobs.map(({ payload, delayMs }) => {
        const data = parsePayload(name, payload);
        return {
          name,
          data,
          opts: { ...this.jobOptions(name, data), ...(delayMs ? { delay: delayMs } : {}) },
        };
      }),
    );
  }

  /**
   * A job with a fixed id that waits (delayed) runs now; one that does not
   * exist is enqueued. Used when what it waited for (a concurrency slot) frees.
   */
  async wake<N extends JobName>(name: N, payload: JobPayload<N>): Promise<void> {
    const data = parsePayload(name, payload);
    const jobId = policyOf(name).jobId?.(data);
    const existing = jobId ? await this.queue(queueOf(name)).getJob(jobId) : undefined;
    if (existing && (await existing.isDelayed())) {
      // It may have been taken between the two calls: then it is already running.
      await existing.promote().catch(() => undefined);
      return;
    }
    await this.enqueue(name, data);
  }

  /** Upserts a recurring job declared in `recurringJobs` (one scheduler per key, whatever the number of workers). */
  async upsertRecurring(key: keyof typeof recurringJobs): Promise<void> {
    const { job, every } = recurringJobs[key];
    const data = parsePayload(job, {});
    const { jobId: _fixed, ...opts } = this.jobOptions(job, data);
    await this.queue(queueOf(job)).upsertJobScheduler(
      job,
      { every: every.everyMs },
      { name: job, data, opts },
    );
  }

  /** Upserts a schedule's tick timer (a BullMQ job scheduler on its cron, in its timezone). */
  async upsertScheduleTick(
    payload: JobPayload<'schedule.tick'>,
    cron: string,
    timezone: string,
  ): Promise<void> {
    const data = parsePayload('schedule.tick', payload);
    const { jobId: _fixed, ...opts } = this.jobOptions('schedule.tick', data);
    await this.queue('schedules').upsertJobScheduler(
      scheduleTickKey(data.scheduleId),
      { pattern: cron, tz: timezone },
      { name: 'schedule.tick', data, opts },
    );
  }

  /** Waiting + delayed + active counts per queue, for /metrics. */
  async depths(): Promise<Record<QueueName, Record<string, number>>> {
    const entries = await Promise.all(
      queueNames.map(async (name) => {
        const counts = await this.queue(name).getJobCounts(
          'waiting',
          'delayed',
          'active',
          'failed',
          'prioritized',
        );
        return [name, counts] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<QueueName, Record<string, number>>;
  }

  async ping(): Promise<void> {
    const answer: string = await this.connection.ping();
    if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
  }

  async onModuleDestroy(): Promise<void> {
    const connections = [this.connection, ...this.extraConnections];
    if (connections.every((c) => c.status === 'ready')) {
      await Promise.all([...this.queues.values()].map((q) => q.close()));
      await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
    } else {
      // Redis is unreachable: closing politely would wait for it forever.
      for (const c of connections) c.disconnect();
    }
  }
}

export { jobDefinitions };
