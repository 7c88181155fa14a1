// notifications: channels (webhook, Slack, email), filters, deliveries with retries, test-send.
import { Module } from '@nestjs/common';
import { ProjectsCoreModule } from '../projects/projects.module.js';
import { EncryptionModule } from '../secrets/encryption.module.js';
import { BillingLimitNotices } from './billing-limit-notices.js';
import { NotificationEventSubscriptions } from './event-subscriptions.js';
import { NotificationDeliverer } from './notification-deliverer.js';
import { NotificationSettings } from './notification-settings.js';
import { NotificationsController } from './notifications.controller.js';
import { NotificationsRepository } from './notifications.repository.js';
import { NotificationsService } from './notifications.service.js';

/** Notifications: providers only (services, repositories, events), for the API and the worker alike. */
@Module({
  imports: [EncryptionModule, ProjectsCoreModule],
  providers: [
    NotificationSettings,
    NotificationsRepository,
    NotificationsService,
    NotificationDeliverer,
    NotificationEventSubscriptions,
    BillingLimitNotices,
  ],
  exports: [NotificationsService, NotificationDeliverer, NotificationSettings],
})
export class NotificationsCoreModule {}

/** Notification channels (API), `NotificationsService.emit`, and the worker's deliverer. */
@Module({
  imports: [NotificationsCoreModule],
  controllers: [NotificationsController],
  exports: [NotificationsCoreModule],
})
export class NotificationsModule {}
