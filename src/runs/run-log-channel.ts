import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { QueueService } from '../queue/queue.service.js';

/** A log line as pushed live (the shape it is stored with). */
export interface LiveLogLine {
  seq: number;
  stream: string;
  timestamp: string;
  line: string;
}

/**
 * What a run's log channel carries: lines as the worker reads them (before they are stored),
 * `stored` once lines up to `upTo` are in PostgreSQL, `end` when the run reached a final status.
 */
export type LogMessage =
  { t: 'lines'; lines: LiveLogLine[] } | { t: 'stored'; upTo: number } | { t: 'end' };

export type LogListener = (message: LogMessage) => void;

/**
 * Live run logs over Redis pub/sub (one channel per run). The worker publishes; each API
 * process holds one subscriber connection, subscribed to a run's channel while at least one
 * follower of that run is connected to it, and fans messages out to its followers.
 */
@Injectable()
export class RunLogChannel implements OnModuleDestroy {
  private readonly logger = new Logger(RunLogChannel.name);
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, Set<LogListener>>();

  constructor(private readonly queues: QueueService) {}

  private channel(runId: string): string {
    return `${this.queues.prefix}:run-logs:${runId}`;
  }

  /** Publishes without waiting (a follower missing a live message catches up from PostgreSQL). */
  publish(runId: string, message: LogMessage): void {
    this.queues.connection
      .publish(this.channel(runId), JSON.stringify(message))
      .catch((err: unknown) => this.logger.warn(`log publish failed: ${String(err)}`));
  }

  /** Listens to a run's channel; resolves once subscribed. Returns the unsubscribe function. */
  async subscribe(runId: string, listener: LogListener): Promise<() => void> {
    const subscriber = this.connection();
    const channel = this.channel(runId);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    await subscriber.subscribe(channel);
    return () => {
      const current = this.listeners.get(channel);
      current?.delete(listener);
      if (current && !current.size) {
        this.listeners.delete(channel);
        subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.queues.createConnection('log-subscriber');
    subscriber.on('message', (channel: string, text: string) => {
      const set = this.listeners.get(channel);
      if (!set) return;
      let message: LogMessage;
      try {
        message = JSON.parse(text) as LogMessage;
      } catch {
        return;
      }
      for (const listener of set) listener(message);
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  onModuleDestroy(): void {
    this.listeners.clear();
  }
}
