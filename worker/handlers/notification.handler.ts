import { Injectable } from '@nestjs/common';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { NotificationDeliverer } from '../../src/notifications/notification-deliverer.js';

/** `notification.deliver`: one attempt per job run; a failed attempt throws so BullMQ retries. */
@Injectable()
export class NotificationHandlers {
  constructor(registry: JobHandlerRegistry, deliverer: NotificationDeliverer) {
    registry.register('notification.deliver', async (payload, job) => {
      await deliverer.deliver(payload.organizationId, payload.deliveryId, {
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? 1,
      });
    });
  }
}
