import { Controller, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ProblemException } from '../common/problem.js';
import { Public } from '../common/public.decorator.js';
import { GithubAppService, notConfigured } from './github-app.service.js';
import { GithubWebhooksService, parseWebhook } from './github-webhooks.service.js';

const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT = /^[a-z_]{1,64}$/;

const header = (req: FastifyRequest, name: string): string | undefined => {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
};

const badRequest = (detail: string, field: string): ProblemException =>
  new ProblemException(HttpStatus.BAD_REQUEST, 'validation-error', detail, [
    { field, message: 'is required' },
  ]);

@ApiTags('github')
@Controller('github/webhooks')
export class GithubWebhooksController {
  constructor(
    private readonly app: GithubAppService,
    private readonly webhooks: GithubWebhooksService,
  ) {}

  /**
   * GitHub App webhooks: the signature is checked over the exact bytes
   * received, then the delivery id is recorded so a replay is refused.
   */
  @Public()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(@Req() req: FastifyRequest & { rawBody?: Buffer }) {
    if (!this.app.configured) throw notConfigured();
    const raw = req.rawBody;
    if (!raw || !this.app.verifyWebhookSignature(raw, header(req, 'x-hub-signature-256'))) {
      throw new ProblemException(
        HttpStatus.UNAUTHORIZED,
        'invalid-signature',
        'The X-Hub-Signature-256 header is missing or does not match the body and the webhook secret.',
      );
    }
    const event = header(req, 'x-github-event');
    if (!event || !EVENT.test(event)) {
      throw badRequest('The X-GitHub-Event header is missing.', 'headers.x-github-event');
    }
    const deliveryId = header(req, 'x-github-delivery');
    if (!deliveryId || !DELIVERY_ID.test(deliveryId)) {
      throw badRequest('The X-GitHub-Delivery header is missing.', 'headers.x-github-delivery');
    }
    const payload = parseWebhook(event, req.body);
    return this.webhooks.receive(deliveryId, event, payload);
  }
}
