import { Controller, HttpCode, HttpStatus, Logger, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type Stripe from 'stripe';
import { ProblemException } from '../common/problem.js';
import { Public } from '../common/public.decorator.js';
import { stripeNotConfigured } from './billing.service.js';
import { StripeGateway } from './stripe-gateway.js';
import { StripeWebhooksService } from './stripe-webhooks.service.js';

const invalidSignature = (detail: string): ProblemException =>
  new ProblemException(HttpStatus.BAD_REQUEST, 'invalid-signature', detail);

@ApiTags('billing')
@Controller('stripe/webhooks')
export class StripeWebhooksController {
  private readonly logger = new Logger('stripe-webhooks');

  constructor(
    private readonly stripe: StripeGateway,
    private readonly webhooks: StripeWebhooksService,
  ) {}

  /**
   * Stripe webhooks: the signature (and its timestamp) is checked over the
   * exact bytes received; each event id is processed once (replays are
   * acknowledged without effect), and events older than what was already
   * applied are acknowledged as stale.
   */
  @Public()
  @Post()
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async receive(@Req() req: FastifyRequest & { rawBody?: Buffer }) {
    if (!this.stripe.configured) throw stripeNotConfigured();
    const signature = req.headers['stripe-signature'];
    if (!req.rawBody || typeof signature !== 'string' || !signature)
      throw invalidSignature('The Stripe-Signature header is missing.');
    let event: Stripe.Event;
    try {
      event = this.stripe.constructEvent(req.rawBody, signature);
    } catch (err) {
      throw invalidSignature(
        `The Stripe-Signature header does not verify: ${err instanceof Error ? err.message.split('\n')[0] : 'invalid'}`,
      );
    }
    const result = await this.webhooks.receive(event);
    this.logger.log({ msg: 'webhook', event: event.id, type: event.type, result });
    return { received: true, event: event.id, result };
  }
}
