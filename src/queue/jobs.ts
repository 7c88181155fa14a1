import { z } from 'zod';

/**
 * Every queue and every job the system runs, declared once. The API enqueues
 * through these types, the worker validates payloads with these schemas when
 * it takes a job, and refuses to boot if a job here has no handler.
 */
export const queueNames = ['deploys', 'runs', 'schedules', 'notifications', 'maintenance'] as const;
export type QueueName = (typeof queueNames)[number];

const id = z.uuid();

export const jobDefinitions = {
  /** Clone a deployment's branch head, read meltano.yml and sync the deployment's schedules. */
  'deploy.execute': { queue: 'deploys', payload: z.object({ organizationId: id, deployId: id }) },
  /** A schedule's timer fired (BullMQ job scheduler); creates at most one run per tick. */
  'schedule.tick': {
    queue: 'schedules',
    payload: z.object({ organizationId: id, scheduleId: id }),
  },
  /** Admit a queued run past its limits and execute it to a final status. */
  'run.execute': { queue: 'runs', payload: z.object({ organizationId: id, runId: id }) },
  /** Make Redis's job schedulers match the enabled schedules in PostgreSQL (one deployment, or all). */
  'schedules.reconcile': {
    queue: 'maintenance',
    payload: z.object({ deploymentId: id.optional() }),
  },
  /** Periodic housekeeping (log retention, expired sessions). */
  'maintenance.sweep': { queue: 'maintenance', payload: z.object({}) },
  /** Deliver one notification (webhook or email); retried with exponential backoff. */
  'notification.deliver': {
    queue: 'notifications',
    payload: z.object({ organizationId: id, deliveryId: id }),
  },
} as const satisfies Record<string, { queue: QueueName; payload: z.ZodType }>;

export type JobName = keyof typeof jobDefinitions;
export type JobPayload<N extends JobName> = z.infer<(typeof jobDefinitions)[N]['payload']>;
export const jobNames = Object.keys(jobDefinitions) as JobName[];

export function queueOf(name: JobName): QueueName {
  return jobDefinitions[name].queue;
}

export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  return jobDefinitions[name].payload.parse(data) as JobPayload<N>;
}
