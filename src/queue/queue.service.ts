import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import {
  jobDefinitions,
  parsePayload,
  queueNames,
  queueOf,
  type JobName,
  type JobPayload,
  type QueueName,
} from './jobs.js';

export interface EnqueueOptions {
  /** A fixed job id makes enqueueing idempotent: a second add with the same id is a no-op. */
  jobId?: string;
  delayMs?: number;
  attempts?: number;
  backoffMs?: number;
}

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

  constructor(private readonly config: AppConfig) {
    this.connection = this.createConnection('producer');
  }

  get prefix(): string {
    return this.config.redis.prefix;
  }

  createConnection(name: string): Redis {
    const connection = new Redis(this.config.redis.url, {
      // BullMQ workers block on Redis; they must retry forever instead of failing commands.
      maxRetriesPerRequest: null,
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
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on('error', (err: Error) => this.logger.warn(`queue ${name}: ${err.message}`));
      this.queues.set(name, queue);
    }
    return queue;
  }

  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options: EnqueueOptions = {},
  ): Promise<void> {
    const data = parsePayload(name, payload);
    const opts: JobsOptions = {
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
      attempts: options.attempts ?? 3,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
      ...(options.jobId ? { jobId: options.jobId } : {}),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
    };
    await this.queue(queueOf(name)).add(name, data, opts);
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
