import { Controller, Get, Header, HttpStatus, Req, Res } from '@nestjs/common';
import { ProblemException } from '../common/problem.js';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config.js';
import { safeEqual } from '../common/signing.js';
import { MetricsService } from './metrics.service.js';
import { Public } from '../common/public.decorator.js';

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Public()
  @Get('metrics')
  @Header('cache-control', 'no-store')
  async metricsText(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    // Public inside a private network; with METRICS_TOKEN set, scrapers must present it.
    const token = this.config.http.metricsToken;
    if (token && !safeEqual(req.headers.authorization ?? '', `Bearer ${token}`)) {
      throw new ProblemException(
        HttpStatus.UNAUTHORIZED,
        'unauthorized',
        'Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.',
      );
    }
    const { contentType, body } = await this.metrics.render();
    await reply.header('content-type', contentType).send(body);
  }
}
