import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { QueueService } from '../queue/queue.service.js';

/**
 * Cancel requests travel from the API to whichever worker runs the run over
 * Redis pub/sub; the worker also re-reads the run's cancel flag periodically,
 * so a lost message only delays a cancel, never drops it.
 */
@Injectable()
export class RunSignals implements OnModuleDestroy {
  private subscriber: Redis | undefined;
  private readonly cancelHandlers = new Map<string, () => void>();

  constructor(private readonly queues: QueueService) {}

  private get channel(): string {
    return `${this.queues.prefix}:run-cancel`;
  }

  async requestCancel(runId: string): Promise<void> {
    await this.queues.connection.publish(this.channel, runId);
  }

  /** Calls `handler` when a cancel for `runId` is published; returns the unsubscribe function. */
  async onCancel(runId: string, handler: () => void): Promise<() => void> {
    if (!this.subscriber) {
      this.subscriber = this.queues.createConnection('run-signals');
      this.subscriber.on('message', (_channel: string, id: string) =>
        this.cancelHandlers.get(id)?.(),
      );
      await this.subscriber.subscribe(this.channel);
    }
    this.cancelHandlers.set(runId, handler);
    return () => this.cancelHandlers.delete(runId);
  }

  async onModuleDestroy(): Promise<void> {
    this.cancelHandlers.clear();
    if (this.subscriber?.status === 'ready')
      await this.subscriber.unsubscribe().catch(() => undefined);
  }
}
