import { Logger } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import type { LogLine } from './executors/executor.js';
import type { NewLogLine, RunLogsRepository } from './run-logs.repository.js';
import type { LiveLogLine, LogMessage } from './run-log-channel.js';

/** Where lines are pushed live (RunLogChannel), as they are read and once they are stored. */
export interface LivePublisher {
  publish(runId: string, message: LogMessage): void;
}

/** Lines read within this window are pushed to followers in one message. */
const LIVE_EVERY_MS = 10;

export interface LineMasker {
  maskLine(line: string): string;
}

/** Until `maskWith`: no line is written before it (the supervisor sets it first). */
const unmasked: LineMasker = { maskLine: (line) => line };

const MAX_LINE = 16_384;
const SERVICE_PREFIX = '[meltano-cloud]';
const BATCH = 500;

/** How failed writes are retried (a database restart, a broken connection). */
export interface LogWriteRetry {
  /** First wait after a failure; doubled after each one up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts of one flush before it gives up for now (the lines stay buffered, retried later). */
  attempts: number;
  /** Lines kept while writes fail; past this, further output is counted and dropped. */
  maxBuffered: number;
}

const defaultRetry: LogWriteRetry = {
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  attempts: 12,
  maxBuffered: 20_000,
};

const logger = new Logger('RunLogWriter');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Buffers a run's output and writes it in batches, in order, with a
 * sequence number per line. Secret values are masked before anything is
 * stored. A failed write (PostgreSQL restarting) never throws: the lines
 * stay buffered (bounded) and are written again with backoff, and a write
 * that did land is not stored twice (the repository skips known sequence
 * numbers).
 */
export class RunLogWriter {
  private buffer: NewLogLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | null = null;
  /** Output refused because the buffer was full while writes failed. */
  private dropped = 0;

  constructor(
    private readonly logs: RunLogsRepository,
    private readonly orgId: OrgId,
    private readonly runId: string,
    private masker: LineMasker,
    private seq: number,
    private readonly flushEveryMs = 250,
    private readonly retry: LogWriteRetry = defaultRetry,
    private readonly live?: LivePublisher,
  ) {}

  /** `masker` undefined: set with `maskWith` before the first line (opened before the secrets are read). */
  static async open(
    logs: RunLogsRepository,
    orgId: OrgId,
    runId: string,
    masker: LineMasker | undefined,
    live?: LivePublisher,
  ): Promise<RunLogWriter> {
    const [lastSeq, skipThrough] = await Promise.all([
      logs.lastSeq(orgId, runId),
      logs.lastLineAtExcept(orgId, runId, SERVICE_PREFIX),
    ]);
    const writer = new RunLogWriter(
      logs,
      orgId,
      runId,
      masker ?? unmasked,
      lastSeq,
      250,
      defaultRetry,
      live,
    );
    writer.skipThrough = skipThrough;
    return writer;
  }

  /** The masker of the run's secrets (known once they are read). */
  maskWith(masker: LineMasker): this {
    this.masker = masker;
    return this;
  }

  /**
   * Lines at or before this time were stored before (a re-attached Kubernetes
   * executor replays the Pod's log from its start): they are not stored twice.
   */
  private skipThrough: Date | null = null;

  write(line: LogLine): void {
    if (
      this.skipThrough &&
      !line.line.startsWith(SERVICE_PREFIX) &&
      line.timestamp <= this.skipThrough
    )
      return;
    if (this.buffer.length >= this.retry.maxBuffered) {
      this.dropped++;
      return;
    }
    const masked = this.masker.maskLine(line.line);
    const stored: NewLogLine = {
      seq: ++this.seq,
      stream: line.stream,
      timestamp: line.timestamp,
      line: masked.length > MAX_LINE ? `${masked.slice(0, MAX_LINE)}… [line truncated]` : masked,
    };
    this.buffer.push(stored);
    if (this.live) {
      // Followers get lines at once (masked, numbered); PostgreSQL gets them in batches.
      this.liveBuffer.push({ ...stored, timestamp: stored.timestamp.toISOString() });
      this.liveTimer ??= setTimeout(() => this.pushLive(), LIVE_EVERY_MS);
    }
    // While a flush is under way it takes these lines too.
    if (this.draining) return;
    if (this.buffer.length >= 200) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushEveryMs);
  }

  private liveBuffer: LiveLogLine[] = [];
  private liveTimer: NodeJS.Timeout | undefined;

  private pushLive(): void {
    clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
    if (!this.liveBuffer.length) return;
    this.live?.publish(this.runId, { t: 'lines', lines: this.liveBuffer.splice(0) });
  }

  /** Service messages (why a run failed, where time went) in the same stream as the pipeline's. */
  note(message: string): void {
    this.write({ stream: 'stderr', line: `${SERVICE_PREFIX} ${message}`, timestamp: new Date() });
  }

  /**
   * Writes what is buffered. Never rejects: when the database stays
   * unreachable through every attempt, it resolves with the lines still
   * buffered and a later flush (already scheduled) writes them.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // One drain at a time keeps batches in order; lines written meanwhile go in the next one.
    if (this.draining) return this.draining.then(() => this.flush());
    if (!this.buffer.length) return Promise.resolve();
    const draining = this.drain()
      .catch((err: unknown) => logger.error(`run ${this.runId}: log writer: ${String(err)}`))
      .finally(() => {
        this.draining = null;
        // Lines written as the drain ended wait for the next timer.
        if (this.buffer.length)
          this.timer ??= setTimeout(() => void this.flush(), this.flushEveryMs);
      });
    this.draining = draining;
    return draining;
  }

  private async drain(): Promise<void> {
    let failures = 0;
    while (this.buffer.length) {
      const batch = this.buffer.slice(0, BATCH);
      try {
        await this.logs.append(this.orgId, this.runId, batch);
      } catch (err) {
        failures++;
        const message = err instanceof Error ? err.message : String(err);
        if (failures >= this.retry.attempts) {
          logger.error(
            `run ${this.runId}: ${this.buffer.length} log lines not stored after ${failures} attempts (${message}); retrying later`,
          );
          this.timer ??= setTimeout(() => void this.flush(), this.retry.maxDelayMs);
          this.timer.unref();
          return;
        }
        const delay = Math.min(this.retry.baseDelayMs * 2 ** (failures - 1), this.retry.maxDelayMs);
        logger.warn(
          `run ${this.runId}: storing ${batch.length} log lines failed (${message}); retry ${failures} in ${delay} ms`,
        );
        await sleep(delay);
        continue;
      }
      this.buffer.splice(0, batch.length);
      failures = 0;
      // Pushed lines are published before this notice, so a follower reading PostgreSQL after it has them all.
      this.pushLive();
      this.live?.publish(this.runId, { t: 'stored', upTo: batch.at(-1)?.seq ?? this.seq });
      if (this.dropped && this.buffer.length < this.retry.maxBuffered) {
        const dropped = this.dropped;
        this.dropped = 0;
        this.note(`${dropped} lines of output were not stored: the database was unreachable`);
      }
    }
  }
}
