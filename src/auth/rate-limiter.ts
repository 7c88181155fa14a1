import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { QueueService } from '../queue/queue.service.js';

export interface RateDecision {
  allowed: boolean;
  remaining: number;
  retryAfterSeconds: number;
}

/**
 * Fixed one-minute windows in Redis, per token and per IP: shared by every
 * API process, one round trip per request.
 */
@Injectable()
export class RateLimiter {
  constructor(
    private readonly config: AppConfig,
    private readonly queues: QueueService,
  ) {}

  async hit(key: string, limit = this.config.http.rateLimitPerMinute): Promise<RateDecision> {
    const windowSeconds = 60;
    const window = Math.floor(Date.now() / 1000 / windowSeconds);
    const redisKey = `${this.config.redis.prefix}:rl:${key}:${window}`;
    const results = await this.queues.connection
      .multi()
      .incr(redisKey)
      .expire(redisKey, windowSeconds + 1)
      .exec();
    const count = Number(results?.[0]?.[1] ?? 0);
    const retryAfterSeconds = windowSeconds - (Math.floor(Date.now() / 1000) % windowSeconds);
    return { allowed: count <= limit, remaining: Math.max(0, limit - count), retryAfterSeconds };
  }
}
