import { Injectable } from '@nestjs/common';
import type { Run } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';
import { RunLogChannel, type LiveLogLine } from './run-log-channel.js';
import { RunLogsRepository } from './run-logs.repository.js';
import { RunsRepository } from './runs.repository.js';
import { isFinal } from './runs.schemas.js';

/** A log line as followers receive it. */
export interface TailLine {
  seq: number;
  timestamp: Date;
  stream: string;
  line: string;
}

/** Where a follower's stream goes (an SSE response). */
export interface TailSink {
  line(line: TailLine): void;
  keepAlive(): void;
  end(run: Run): void;
  closed(): boolean;
  onClose(listener: () => void): void;
}

/** Idle followers get a keep-alive this often (and the run's status is read then, see below). */
export const KEEP_ALIVE_MS = 15_000;
const PAGE = 500;

const fromLive = (l: LiveLogLine): TailLine => ({ ...l, timestamp: new Date(l.timestamp) });

/**
 * Follows a run's log: subscribes to its live channel first, then replays what PostgreSQL
 * holds after `afterSeq`, then sends pushed lines in sequence order. Each line is sent once, in
 * order, without gaps: a pushed line ahead of the next expected one waits until PostgreSQL
 * holds the lines in between (the worker announces each stored batch), which are then read.
 * Nothing polls: the follower wakes on a message or its keep-alive; at a keep-alive the run's
 * status is read, which ends the stream of a run that ended without telling the channel (a run
 * cancelled while queued, or a message lost while Redis restarted).
 */
@Injectable()
export class RunLogTail {
  constructor(
    private readonly runs: RunsRepository,
    private readonly logs: RunLogsRepository,
    private readonly channel: RunLogChannel,
  ) {}

  async follow(orgId: OrgId, runId: string, afterSeq: number, sink: TailSink): Promise<void> {
    let sent = afterSeq;
    const pending = new Map<number, LiveLogLine>();
    let storedUpTo = 0;
    let ended = false;
    let dirty: boolean;
    let wake: (() => void) | undefined;
    const notify = () => {
      dirty = true;
      wake?.();
    };
    const unsubscribe = await this.channel.subscribe(runId, (message) => {
      if (message.t === 'lines') {
        for (const l of message.lines) if (l.seq > sent) pending.set(l.seq, l);
      } else if (message.t === 'stored') storedUpTo = Math.max(storedUpTo, message.upTo);
      else ended = true;
      notify();
    });
    sink.onClose(notify);
    const send = (line: TailLine) => {
      if (line.seq <= sent) return;
      sink.line(line);
      sent = line.seq;
      pending.delete(line.seq);
    };
    const replay = async () => {
      for (;;) {
        const lines = await this.logs.lines(orgId, runId, sent, PAGE);
        lines.forEach(send);
        if (lines.length < PAGE) return;
      }
    };
    try {
      await replay();
      const run = await this.runs.find(orgId, runId);
      if (!run || isFinal(run.status)) ended = true;
      while (!sink.closed()) {
        dirty = false;
        for (let next = pending.get(sent + 1); next; next = pending.get(sent + 1))
          send(fromLive(next));
        for (const seq of pending.keys()) if (seq <= sent) pending.delete(seq);
        if (ended) {
          await replay(); // lines stored just before the final status
          const final = await this.runs.find(orgId, runId);
          if (final) sink.end(final);
          return;
        }
        // A gap PostgreSQL now holds (lines pushed before this follower subscribed): read it.
        if (pending.size && storedUpTo > sent) {
          await replay();
          continue;
        }
        if (dirty) continue;
        const woken = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), KEEP_ALIVE_MS);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        wake = undefined;
        if (!woken && !sink.closed()) {
          sink.keepAlive();
          const run = await this.runs.find(orgId, runId);
          if (!run || isFinal(run.status)) ended = true;
        }
      }
    } finally {
      unsubscribe();
    }
  }
}
