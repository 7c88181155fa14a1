// queue: Redis connections, the job catalog with its policies (jobs.ts), enqueueing and recurring jobs, handler registry.
import { Global, Module } from '@nestjs/common';
import { QueueService } from './queue.service.js';

@Global()
@Module({ providers: [QueueService], exports: [QueueService] })
export class QueueModule {}
