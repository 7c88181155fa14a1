import { Controller, HttpCode, HttpStatus, Logger, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type Stripe from 'stripe';
import { z } from 'zod';
import { ProblemException, validationFailed } from '../common/problem.js';
import { Public } from '../common/public.decorator.js';
import { stripeNotConfigured } from './billing.service.js';
import { StripeGateway } from './stripe-gateway.js';
import { StripeWebhooksService } from './stripe-webhooks.service.js';

const invalidSignature = (detail: string): ProblemException =>
  new ProblemException(HttpStatus.BAD_REQUEST, 'invalid-signature', detail);

const idOrObject = z.union([z.string(), z.looseObject({ id: z.string() }), z.null()]).optional();
/** What every Stripe event has (an id, claimed once; a type; an object), with the fields the handler reads typed. */
const eventShape = z.object({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  data: z.object({
    object: z.looseObject({
      id: z.string().optional(),
      customer: idOrObject,
      subscription: idOrObject,
      client_reference_id: z.string().nullable().optional(),
      status: z.string().optional(),
      mode: z.string().nullable().optional(),
      metadata: z.record(z.string(), z.string()).nullable().optional(),
    }),
  }),
});

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
    // Signed yet not an event (an array, no id or type): refused, never a 500.
    const shape = eventShape.safeParse(event);
    if (!shape.success)
      throw validationFailed(
        shape.error.issues.map((i) => ({
          field: ['body', ...i.path.map(String)].join('.'),
          message: i.message,
        })),
        'The body is not a Stripe event.',
      );
    const result = await this.webhooks.receive(event);
    this.logger.log({ msg: 'webhook', event: event.id, type: event.type, result });
    return { received: true, event: event.id, result };
  }
}
