import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { hostname } from 'node:os';
import { AppConfig } from '../config/app-config.js';
import { QueueService } from '../queue/queue.service.js';

const HEARTBEAT_TTL_SECONDS = 30;
const BEAT_EVERY_MS = 10_000;

/**
 * Each worker keeps a heartbeat in Redis, so the runs of a worker that
 * vanished are noticed (by the sweep) and taken over by another one.
 */
@Injectable()
export class WorkerHeartbeat implements OnModuleDestroy {
  readonly workerId: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    config: AppConfig,
    private readonly queues: QueueService,
  ) {
    this.workerId = config.worker.id ?? `${hostname()}:${process.pid}`;
  }

  private key(workerId: string): string {
    return `${this.queues.prefix}:worker:${workerId}`;
  }

  async start(): Promise<void> {
    const beat = () =>
      this.queues.connection.set(
        this.key(this.workerId),
        new Date().toISOString(),
        'EX',
        HEARTBEAT_TTL_SECONDS,
      );
    await beat();
    this.timer = setInterval(() => void beat().catch(() => undefined), BEAT_EVERY_MS);
    this.timer.unref();
  }

  async isAlive(workerId: string): Promise<boolean> {
    if (workerId === this.workerId) return true;
    return (await this.queues.connection.exists(this.key(workerId))) === 1;
  }

  /** On shutdown: runs in hand are left to their executor and taken over by the next worker (Kubernetes) or failed (local). */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    if (this.queues.connection.status === 'ready') {
      await this.queues.connection.del(this.key(this.workerId)).catch(() => undefined);
    }
  }
}
