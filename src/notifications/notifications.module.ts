import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module.js';
import { EncryptionModule } from '../secrets/encryption.module.js';
import { NotificationEventSubscriptions } from './event-subscriptions.js';
import { NotificationDeliverer } from './notification-deliverer.js';
import { NotificationSettings } from './notification-settings.js';
import { NotificationsController } from './notifications.controller.js';
import { NotificationsRepository } from './notifications.repository.js';
import { NotificationsService } from './notifications.service.js';

/** Notification channels (API), `NotificationsService.emit`, and the worker's deliverer. */
@Module({
  imports: [EncryptionModule, ProjectsModule],
  controllers: [NotificationsController],
  providers: [
    NotificationSettings,
    NotificationsRepository,
    NotificationsService,
    NotificationDeliverer,
    NotificationEventSubscriptions,
  ],
  exports: [NotificationsService, NotificationDeliverer, NotificationSettings],
})
export class NotificationsModule {}
