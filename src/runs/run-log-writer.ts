import type { OrgId } from '../database/org-id.js';
import type { LogLine } from './executors/executor.js';
import type { NewLogLine, RunLogsRepository } from './run-logs.repository.js';

export interface LineMasker {
  maskLine(line: string): string;
}

const MAX_LINE = 16_384;
const SERVICE_PREFIX = '[meltano-cloud]';

/**
 * Buffers a run's output and writes it in batches, in order, with a
 * sequence number per line. Secret values are masked before anything is
 * stored.
 */
export class RunLogWriter {
  private buffer: NewLogLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly logs: RunLogsRepository,
    private readonly orgId: OrgId,
    private readonly runId: string,
    private readonly masker: LineMasker,
    private seq: number,
    private readonly flushEveryMs = 250,
  ) {}

  static async open(
    logs: RunLogsRepository,
    orgId: OrgId,
    runId: string,
    masker: LineMasker,
  ): Promise<RunLogWriter> {
    const lastSeq = await logs.lastSeq(orgId, runId);
    const writer = new RunLogWriter(logs, orgId, runId, masker, lastSeq);
    writer.skipThrough = await logs.lastLineAtExcept(orgId, runId, SERVICE_PREFIX);
    return writer;
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
    const masked = this.masker.maskLine(line.line);
    this.buffer.push({
      seq: ++this.seq,
      stream: line.stream,
      timestamp: line.timestamp,
      line: masked.length > MAX_LINE ? `${masked.slice(0, MAX_LINE)}… [line truncated]` : masked,
    });
    if (this.buffer.length >= 200) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushEveryMs);
  }

  /** Service messages (why a run failed, where time went) in the same stream as the pipeline's. */
  note(message: string): void {
    this.write({ stream: 'stderr', line: `${SERVICE_PREFIX} ${message}`, timestamp: new Date() });
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    // Chained so batches land in order even when flushes overlap.
    this.flushing = this.flushing.then(async () => {
      if (!batch.length) return;
      await this.logs.append(this.orgId, this.runId, batch);
    });
    return this.flushing;
  }
}
