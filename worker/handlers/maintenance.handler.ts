import { Injectable } from '@nestjs/common';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { MaintenanceService } from '../../src/maintenance/maintenance.service.js';

@Injectable()
export class MaintenanceHandlers {
  constructor(registry: JobHandlerRegistry, maintenance: MaintenanceService) {
    registry.register('maintenance.sweep', async () => {
      await maintenance.sweep();
    });
  }
}
