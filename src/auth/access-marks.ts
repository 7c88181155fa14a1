import { Injectable } from '@nestjs/common';
import { QueueService } from '../queue/queue.service.js';

/**
 * How long API processes trust a credential or a membership they validated without asking
 * PostgreSQL again. Changes that take access away (a token revoked, a session ended, a role
 * changed or removed) are seen at once by every process through AccessMarks; other changes
 * (an organization renamed, its settings) within this time.
 */
export const ACCESS_CACHE_MS = 5_000;

/** A mark outlives every cache entry that may predate it (entries live ACCESS_CACHE_MS). */
const MARK_SECONDS = 2 * Math.ceil(ACCESS_CACHE_MS / 1000);

/**
 * Marks in Redis saying "what you cached about this is stale": set right after a revocation
 * (or membership change) commits, read by every API request in the same Lua call as its rate
 * limit (RateLimiter), so a process drops its cached entry before using it: revocation is
 * immediate across processes with no extra round trip.
 */
@Injectable()
export class AccessMarks {
  constructor(private readonly queues: QueueService) {}

  /** The mark of a credential (an API token or a session), by its hash. */
  credential(tokenHash: string): string {
    return `${this.queues.prefix}:access:credential:${tokenHash}`;
  }

  /** The mark of a user's memberships. */
  memberships(userId: string): string {
    return `${this.queues.prefix}:access:memberships:${userId}`;
  }

  /** Sets the marks (after the change committed; the caller answers once they are set). */
  async mark(keys: string[]): Promise<void> {
    if (!keys.length) return;
    const pipeline = this.queues.connection.pipeline();
    for (const key of keys) pipeline.set(key, '1', 'EX', MARK_SECONDS);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }
}
