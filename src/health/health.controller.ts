import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { Public } from '../common/public.decorator.js';
import { ZodResponse } from '../common/zod.js';
import { QueueService } from '../queue/queue.service.js';
import { HealthRepository } from './health.repository.js';

const checkResult = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(
    z.string(),
    z.object({ status: z.enum(['ok', 'down']), error: z.string().optional() }),
  ),
});

const withTimeout = async (promise: Promise<void>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly database: HealthRepository,
    private readonly queues: QueueService,
  ) {}

  @Public()
  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process is up' })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Public()
  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: PostgreSQL and Redis answer' })
  @ZodResponse(200, checkResult, 'Ready')
  @ZodResponse(503, checkResult, 'A dependency is down; `checks` says which')
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const probes = { postgres: () => this.database.ping(), redis: () => this.queues.ping() };
    const checks: z.infer<typeof checkResult>['checks'] = {};
    await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        try {
          await withTimeout(probe(), 2000);
          checks[name] = { status: 'ok' };
        } catch (err) {
          checks[name] = {
            status: 'down',
            error: err instanceof Error ? err.message : String(err),
          };
        }
      }),
    );
    const ok = Object.values(checks).every((c) => c.status === 'ok');
    await reply
      .status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
      .send({ status: ok ? 'ok' : 'unavailable', checks });
  }
}
