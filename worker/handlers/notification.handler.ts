import { Injectable, Optional } from '@nestjs/common';
import { WorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { JobHandlerRegistry, type JobHandler } from '../../src/queue/job-handlers.js';
import { NotificationDeliverer } from '../../src/notifications/notification-deliverer.js';

/** `notification.deliver`: one attempt per job run; a failed attempt throws so BullMQ retries. */
@Injectable()
export class NotificationHandlers {
  constructor(
    registry: JobHandlerRegistry,
    deliverer: NotificationDeliverer,
    @Optional() metrics?: WorkerMetrics,
  ) {
    const deliver: JobHandler<'notification.deliver' | 'notification.test'> = async (
      payload,
      job,
    ) => {
      try {
        await deliverer.deliver(payload.organizationId, payload.deliveryId, {
          attempt: job.attemptsMade + 1,
          maxAttempts: job.opts.attempts ?? 1,
        });
        metrics?.notificationDeliveries.inc({ job: job.name, outcome: 'delivered' });
      } catch (err) {
        metrics?.notificationDeliveries.inc({ job: job.name, outcome: 'failed' });
        throw err;
      }
    };
    registry.register('notification.deliver', deliver);
    registry.register('notification.test', deliver);
  }
}
