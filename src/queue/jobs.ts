import { z } from 'zod';

/**
 * Every queue and every job the system runs, declared once, with its policy
 * (as trigger.dev's job catalog does): attempts, backoff, how long finished
 * jobs are kept and the job id that makes enqueueing idempotent. The API
 * enqueues through these types, the worker validates payloads with these
 * schemas when it takes a job, and refuses to boot if a job here has no
 * handler. No call site picks its own retry count or job id.
 */
export const queueNames = [
  'deploys',
  'runs',
  'schedules',
  'notifications',
  'maintenance',
  'billing',
] as const;
export type QueueName = (typeof queueNames)[number];

const id = z.uuid();

export interface JobPolicy<P> {
  /** Attempts in all (the first included). */
  attempts: number;
  /** Exponential backoff base between attempts (base, 2·base, 4·base…). */
  backoffMs: number;
  /** A fixed id per payload: a second enqueue of the same payload while the job exists is a no-op. */
  jobId?: (payload: P) => string;
  /**
   * Remove the job as soon as it ends, so the same id can be enqueued again
   * later (a run taken over after its worker died); otherwise finished jobs
   * are kept a day (failed ones a week) for inspection.
   */
  removeWhenDone?: boolean;
}

interface JobDefinition<S extends z.ZodType> {
  queue: QueueName;
  payload: S;
  policy: JobPolicy<z.infer<S>>;
}

const job = <S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> => definition;

const deployPayload = z.object({
  organizationId: id,
  deployId: id,
  /** Read the deploy's commit instead of the branch head. */
  pinCommit: z.boolean().optional(),
  /** Finish without syncing when the branch head is the deployed commit. */
  onlyIfChanged: z.boolean().optional(),
});
const runPayload = z.object({ organizationId: id, runId: id });
const deliveryPayload = z.object({ organizationId: id, deliveryId: id });

export const jobDefinitions = {
  /** Clone a deployment's branch head, read meltano.yml and sync the deployment's schedules. */
  'deploy.execute': job({
    queue: 'deploys',
    payload: deployPayload,
    policy: { attempts: 3, backoffMs: 2_000, jobId: (p) => `deploy-${p.deployId}` },
  }),
  /** A schedule's timer fired (a recurring BullMQ job scheduler); creates at most one run per tick. */
  'schedule.tick': job({
    queue: 'schedules',
    payload: z.object({ organizationId: id, scheduleId: id }),
    policy: { attempts: 5, backoffMs: 1_000 },
  }),
  /**
   * Admit a queued run past its limits and execute it to a final status. Not
   * retried by the queue: a failure is a run outcome; lost jobs are enqueued
   * again by the sweep, and the one job id per run makes that a no-op while
   * the job lives. A run waiting for a slot delays this same job.
   */
  'run.execute': job({
    queue: 'runs',
    payload: runPayload,
    policy: { attempts: 1, backoffMs: 1_000, jobId: (p) => `run-${p.runId}`, removeWhenDone: true },
  }),
  /** Make Redis's job schedulers match the enabled schedules in PostgreSQL (one deployment, or all). */
  'schedules.reconcile': job({
    queue: 'maintenance',
    payload: z.object({ deploymentId: id.optional() }),
    policy: { attempts: 3, backoffMs: 1_000 },
  }),
  /** Periodic housekeeping (log retention, expired sessions, stuck runs, missed ticks); recurring. */
  'maintenance.sweep': job({
    queue: 'maintenance',
    payload: z.object({}),
    policy: { attempts: 1, backoffMs: 1_000 },
  }),
  /** Deliver one notification (webhook, Slack or email); retried with exponential backoff. */
  'notification.deliver': job({
    queue: 'notifications',
    payload: deliveryPayload,
    policy: { attempts: 6, backoffMs: 10_000, jobId: (p) => p.deliveryId },
  }),
  /** A test notification sent from the API: one attempt, its outcome shown to the user. */
  'notification.test': job({
    queue: 'notifications',
    payload: deliveryPayload,
    policy: { attempts: 1, backoffMs: 1_000, jobId: (p) => p.deliveryId },
  }),
  // ---- billing (issue 11) ----
  /**
   * Send the ledger's unreported rows to Stripe as meter events (one per
   * row, the row id as identifier). One job at a time (fixed id); a Stripe
   * failure stops the batch and the job is retried with backoff.
   */
  'billing.report-usage': job({
    queue: 'billing',
    payload: z.object({}),
    policy: { attempts: 5, backoffMs: 30_000, jobId: () => 'billing-report-usage' },
  }),
  /** Daily: compare the ledger with what Stripe accepted and re-send what is missing. */
  'billing.reconcile': job({
    queue: 'billing',
    payload: z.object({}),
    policy: { attempts: 3, backoffMs: 60_000 },
  }),
  /** Cancel the Stripe subscription of an organization being deleted. */
  'billing.cancel-subscription': job({
    queue: 'billing',
    payload: z.object({ organizationId: id, subscriptionId: z.string().min(1).max(255) }),
    policy: {
      attempts: 8,
      backoffMs: 30_000,
      jobId: (p) => `cancel-subscription-${p.subscriptionId}`,
    },
  }),
} as const;

export type JobName = keyof typeof jobDefinitions;
export type JobPayload<N extends JobName> = z.infer<(typeof jobDefinitions)[N]['payload']>;
export const jobNames = Object.keys(jobDefinitions) as JobName[];

/**
 * Recurring jobs, declared here and upserted by `QueueService.upsertRecurring`
 * (one BullMQ job scheduler per key; a fixed key keeps it to one across workers).
 */
export const recurringJobs = {
  /** Housekeeping every minute. */
  housekeeping: { job: 'maintenance.sweep', every: { everyMs: 60_000 } },
  /** Usage to Stripe every minute (a no-op without Stripe). */
  usageReport: { job: 'billing.report-usage', every: { everyMs: 60_000 } },
  /** The daily reconciliation of the ledger with Stripe. */
  usageReconcile: { job: 'billing.reconcile', every: { everyMs: 24 * 3600_000 } },
} as const satisfies Record<string, { job: JobName; every: { everyMs: number } }>;

/** The job scheduler key of a schedule's ticks (its tick time is read back from the job id). */
export const scheduleTickKey = (scheduleId: string): string => `schedule:${scheduleId}`;
export const SCHEDULE_TICK_KEY_PREFIX = 'schedule:';

export function queueOf(name: JobName): QueueName {
  return jobDefinitions[name].queue;
}

export function policyOf<N extends JobName>(name: N): JobPolicy<JobPayload<N>> {
  return jobDefinitions[name].policy as JobPolicy<JobPayload<N>>;
}

export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  return jobDefinitions[name].payload.parse(data) as JobPayload<N>;
}
