import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { QueueService } from '../queue/queue.service.js';

export interface RateDecision {
  allowed: boolean;
  /** Requests left in this window under the tightest of the limits counted. */
  remaining: number;
  retryAfterSeconds: number;
}

export interface RateHit extends RateDecision {
  /** Which of the `marks` asked for exist (see AccessMarks), in their order. */
  marked: boolean[];
}

const WINDOW_SECONDS = 60;

/**
 * KEYS: the limit counters, then the marks to look at; ARGV[1]: how many counters, ARGV[2]:
 * their time to live. Counts each counter, reads each mark: one round trip per request.
 */
const HIT_SCRIPT = `
local counters = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  if i <= counters then
    local n = redis.call('INCR', KEYS[i])
    if n == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2]) end
    out[i] = n
  else
    out[i] = redis.call('EXISTS', KEYS[i])
  end
end
return out`;

type WithHit = Redis & {
  mcRateHit(keys: number, ...args: (string | number)[]): Promise<number[]>;
};

/**
 * Fixed one-minute windows in Redis, per IP and per credential, shared by every API process.
 * All the counters of a request (and the marks it must look at) go in one Lua script call:
 * one round trip per request.
 */
@Injectable()
export class RateLimiter {
  private readonly redis: WithHit;

  constructor(
    private readonly config: AppConfig,
    queues: QueueService,
  ) {
    const connection = queues.connection as WithHit;
    if (typeof connection.mcRateHit !== 'function') {
      connection.defineCommand('mcRateHit', { lua: HIT_SCRIPT });
    }
    this.redis = connection;
  }

  /** Counts one request against each of `keys` (e.g. `ip:…`, `token:…`) and reads `marks` (full Redis keys). */
  async hit(
    keys: string[],
    marks: string[] = [],
    limit = this.config.http.rateLimitPerMinute,
  ): Promise<RateHit> {
    const window = Math.floor(Date.now() / 1000 / WINDOW_SECONDS);
    const counters = keys.map((key) => `${this.config.redis.prefix}:rl:${key}:${window}`);
    const all = [...counters, ...marks];
    const results = await this.redis.mcRateHit(
      all.length,
      ...all,
      counters.length,
      WINDOW_SECONDS + 1,
    );
    const counts = results.slice(0, counters.length).map(Number);
    const highest = Math.max(0, ...counts);
    const retryAfterSeconds = WINDOW_SECONDS - (Math.floor(Date.now() / 1000) % WINDOW_SECONDS);
    return {
      allowed: highest <= limit,
      remaining: Math.max(0, limit - highest),
      retryAfterSeconds,
      marked: results.slice(counters.length).map((n) => Number(n) === 1),
    };
  }
}
