import { Redis } from 'ioredis';
import type { ArgumentsHost } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Prisma } from '../../../src/generated/prisma/client.js';
import { unavailableDependency } from '../../../src/common/db-errors.js';
import { notFound, PROBLEM_BASE } from '../../../src/common/problem.js';
import { ProblemFilter } from '../../../src/common/problem.filter.js';

const known = (code: string, meta?: Record<string, unknown>) =>
  new Prisma.PrismaClientKnownRequestError(`prisma ${code}`, {
    code,
    clientVersion: '7',
    ...(meta ? { meta } : {}),
  });
const pgError = (code: string) =>
  Object.assign(new Error(`pg ${code}`), { code, severity: 'FATAL' });
const socketError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, port: 5432 });

/** A real ioredis error from a client with no server to talk to. */
async function redisError(maxRetriesPerRequest: number): Promise<unknown> {
  const redis = new Redis({
    port: 1,
    lazyConnect: maxRetriesPerRequest === 0,
    maxRetriesPerRequest,
    retryStrategy: (n) => (n < 3 ? 10 : null),
  });
  redis.on('error', () => undefined);
  // The client gives up after three tries and ends by itself: a `disconnect()` while it is
  // reconnecting leaves a timer that keeps Jest's worker from exiting.
  const ended = new Promise((resolve) => redis.once('end', resolve));
  const err = await redis.get('x').then(
    () => null,
    (e: unknown) => e,
  );
  await ended;
  return err;
}

describe('unavailableDependency', () => {
  it.each([
    ['PostgreSQL shutting down (57P01)', pgError('57P01')],
    ['PostgreSQL crash shutdown (57P02)', pgError('57P02')],
    ['PostgreSQL starting up or shutting down (57P03)', pgError('57P03')],
    ['a broken connection (08000)', pgError('08000')],
    ['no connection (08003)', pgError('08003')],
    ['a connection failure (08006)', pgError('08006')],
    ["Prisma's P1001 (cannot reach the server)", known('P1001')],
    ["Prisma's P1017 (server closed the connection)", known('P1017')],
    [
      'a PostgreSQL code under the driver adapter (P2010 with 57P03)',
      known('P2010', { driverAdapterError: { cause: { kind: 'postgres', code: '57P03' } } }),
    ],
    [
      'the adapter saying it cannot reach the database',
      known('P2036', { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } }),
    ],
    ['PostgreSQL out of connection slots (53300)', pgError('53300')],
    [
      'the adapter saying the server has too many connections',
      known('P2037', { driverAdapterError: { cause: { kind: 'TooManyConnections' } } }),
    ],
    ['node-postgres losing its connection', new Error('Connection terminated unexpectedly')],
    [
      'node-postgres reusing a client whose connection broke',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    ['node-postgres giving up connecting', new Error('timeout exceeded when trying to connect')],
    ['a wrapped 57P03', new Error('write failed', { cause: pgError('57P03') })],
  ])('maps %s to the database', (_what, err) => {
    expect(unavailableDependency(err)).toBe('database');
  });

  it('maps ioredis connection errors to Redis', async () => {
    expect(unavailableDependency(await redisError(0))).toBe('redis');
    expect(unavailableDependency(await redisError(1))).toBe('redis');
  });

  it.each([['ECONNREFUSED'], ['ECONNRESET']])('maps a socket %s to a dependency', (code) => {
    expect(unavailableDependency(socketError(code))).toBe('dependency');
  });

  it.each([
    ['a unique violation', known('P2002')],
    ['a syntax error', pgError('42601')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'boom'],
    ['nothing', undefined],
  ])('leaves %s alone', (_what, err) => {
    expect(unavailableDependency(err)).toBeNull();
  });
});

describe('ProblemFilter', () => {
  const request = { url: '/orgs/acme/runs?x=1', id: 'req-1' } as unknown as FastifyRequest;

  function render(exception: unknown) {
    const sent: { status?: number; headers: Record<string, string>; body?: unknown } = {
      headers: {},
    };
    const reply = {
      status(code: number) {
        sent.status = code;
        return reply;
      },
      header(name: string, value: string) {
        sent.headers[name.toLowerCase()] = value;
        return reply;
      },
      send(body: unknown) {
        sent.body = body;
        return reply;
      },
    };
    const host = {
      switchToHttp: () => ({ getResponse: () => reply, getRequest: () => request }),
    } as unknown as ArgumentsHost;
    new ProblemFilter().catch(exception, host);
    return sent;
  }

  it('answers 503 with Retry-After (problem+json) when PostgreSQL is shutting down', () => {
    const sent = render(known('P2010', { driverAdapterError: { cause: { code: '57P03' } } }));
    expect(sent.status).toBe(503);
    expect(sent.headers['retry-after']).toMatch(/^\d+$/);
    expect(sent.headers['content-type']).toBe('application/problem+json');
    expect(sent.body).toMatchObject({
      type: PROBLEM_BASE + 'dependency-unavailable',
      status: 503,
      dependency: 'database',
      instance: '/orgs/acme/runs',
    });
    // Nothing of the driver's message leaks.
    expect(JSON.stringify(sent.body)).not.toMatch(/57P03|prisma/);
  });

  it('answers 503 with Retry-After when Redis is unreachable', async () => {
    const sent = render(await redisError(1));
    expect(sent.status).toBe(503);
    expect(sent.headers['retry-after']).toBeDefined();
    expect(sent.body).toMatchObject({ dependency: 'redis' });
  });

  it('keeps 500 for bugs and the domain status for domain errors', () => {
    const bug = render(new TypeError('x is undefined'));
    expect(bug.status).toBe(500);
    expect(bug.headers['retry-after']).toBeUndefined();
    expect(render(notFound('Run')).status).toBe(404);
  });
});
