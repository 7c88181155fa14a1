import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { jobNames, type JobName, type JobPayload } from './jobs.js';

export type JobHandler<N extends JobName> = (
  payload: JobPayload<N>,
  job: Job,
  /** The worker's lock token (to move the job to delayed). */
  token?: string,
) => Promise<void>;

/**
 * Job name -> handler. Handler providers register in their constructor or
 * onModuleInit; the worker checks completeness before it takes any job.
 */
@Injectable()
export class JobHandlerRegistry {
  private readonly handlers = new Map<JobName, JobHandler<JobName>>();

  register<N extends JobName>(name: N, handler: JobHandler<N>): void {
    if (this.handlers.has(name)) throw new Error(`job ${name} already has a handler`);
    this.handlers.set(name, handler);
  }

  get(name: JobName): JobHandler<JobName> | undefined {
    return this.handlers.get(name);
  }

  /** Throws naming every declared job that no handler serves. */
  assertComplete(declared: readonly JobName[] = jobNames): void {
    const missing = declared.filter((name) => !this.handlers.has(name));
    if (missing.length) {
      throw new Error(`worker cannot start: no handler for job type(s) ${missing.join(', ')}`);
    }
  }
}
