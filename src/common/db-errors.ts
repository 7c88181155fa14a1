import { Prisma } from '../generated/prisma/client.js';

/** A unique index refused the write (a name taken, a tick already run, a delivery already seen). */
export const isUniqueViolation = (err: unknown): boolean =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

/** PostgreSQL codes of a server that is shutting down, starting up, full, or a connection that broke. */
const PG_UNAVAILABLE = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08006',
]);
/** Prisma's "cannot reach the database" / "connection closed" / "socket timeout" / "pool timeout". */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/**
 * Prisma's transaction API error (P2028) when PostgreSQL could not serve the transaction in time:
 * no connection free within `maxWait` (every one taken while the server restarts), or a statement
 * hanging past the transaction's timeout. Other P2028s (a transaction used after it ended) are bugs.
 */
const PRISMA_TX_TIMEOUT = /Unable to start a transaction in the given time|expired transaction/;
/** node-postgres' own words when a connection dies under it, or cannot be made in time. */
const PG_CLIENT_UNAVAILABLE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable)/;
/** The driver adapter's names for the same. */
const ADAPTER_UNAVAILABLE = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
const SOCKET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** ioredis' errors while it has no connection (or gave up retrying a command, or the command timed out). */
const REDIS_UNAVAILABLE_MESSAGE =
  /^(Connection is closed\.?|Command timed out|Stream isn't writeable.*|Reached the max retries per request limit.*|.*All sentinels are unreachable.*|Failed to refresh slots cache.*)$/;

/** `dependency`: a connection refused or reset whose other end is not known. */
export type UnavailableDependency = 'database' | 'redis' | 'dependency';

/**
 * Which dependency a failure means is unreachable (down, restarting, shutting
 * down, the connection broke), or null for any other error. Such a failure is
 * transient: the caller answers 503 or retries, it is not a bug.
 */
export function unavailableDependency(err: unknown, depth = 0): UnavailableDependency | null {
  if (!err || typeof err !== 'object' || depth > 5) return null;
  const e = err as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown } } };
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  const name = typeof e.name === 'string' ? e.name : '';
  if (code && PRISMA_UNAVAILABLE.has(code)) return 'database';
  if (code && PG_UNAVAILABLE.has(code)) return 'database';
  if (code === 'P2028' && PRISMA_TX_TIMEOUT.test(message)) return 'database';
  const adapter = e.meta?.driverAdapterError?.cause;
  if (adapter) {
    if (typeof adapter.kind === 'string' && ADAPTER_UNAVAILABLE.has(adapter.kind))
      return 'database';
    if (typeof adapter.code === 'string' && PG_UNAVAILABLE.has(adapter.code)) return 'database';
  }
  if (name === 'DriverAdapterError') {
    const cause = e.cause as { kind?: unknown; code?: unknown } | undefined;
    if (typeof cause?.kind === 'string' && ADAPTER_UNAVAILABLE.has(cause.kind)) return 'database';
    if (typeof cause?.code === 'string' && PG_UNAVAILABLE.has(cause.code)) return 'database';
  }
  if (name === 'PrismaClientInitializationError') return 'database';
  if (PG_CLIENT_UNAVAILABLE.test(message)) return 'database';
  if (name === 'MaxRetriesPerRequestError' || REDIS_UNAVAILABLE_MESSAGE.test(message))
    return 'redis';
  if (code && SOCKET_UNAVAILABLE.has(code)) return 'dependency';
  return unavailableDependency(e.cause, depth + 1);
}
