import type { OrgId } from '../database/org-id.js';
import type { Tx } from '../database/tx.js';
import type { Prisma, Schedule } from '../generated/prisma/client.js';
import type { SchedulesRepository } from './schedules.repository.js';
import { scheduleOffsetSeconds } from './spread.js';

/** What meltano.yml says of a schedule, validated (its cron and why it is invalid, if it is). */
export interface WantedSchedule {
  name: string;
  /** Where meltano.yml lists it (merge order). */
  position: number;
  interval: string | null;
  cron: string | null;
  job: string | null;
  extractor: string | null;
  loader: string | null;
  transform: string | null;
  env: Prisma.InputJsonValue;
  invalidReason: string | null;
}

export type ExistingSchedule = Pick<
  Schedule,
  | 'id'
  | 'name'
  | 'interval'
  | 'cron'
  | 'job'
  | 'extractor'
  | 'loader'
  | 'transform'
  | 'env'
  | 'position'
  | 'invalidReason'
  | 'archivedAt'
>;

type SyncedFields = Omit<WantedSchedule, 'name'> & { archivedAt: null };

export interface ScheduleSyncPlan {
  /** New schedules: they appear disabled. */
  create: { name: string; data: SyncedFields & { enabled: false } }[];
  /** Changed (or back in meltano.yml after being archived): updated in place, unarchived. */
  update: { id: string; name: string; data: SyncedFields & { enabled?: false } }[];
  /** Gone from meltano.yml: disabled and archived (their runs stay). */
  archive: { id: string; name: string }[];
  /** Wanted schedules that cannot be enabled. */
  invalid: string[];
}

export interface SyncSummary {
  added: string[];
  updated: string[];
  archived: string[];
  invalid: string[];
}

const changed = (current: ExistingSchedule, fields: SyncedFields): boolean =>
  current.interval !== fields.interval ||
  current.cron !== fields.cron ||
  current.job !== fields.job ||
  current.extractor !== fields.extractor ||
  current.loader !== fields.loader ||
  current.transform !== fields.transform ||
  JSON.stringify(current.env) !== JSON.stringify(fields.env) ||
  current.position !== fields.position ||
  current.invalidReason !== fields.invalidReason ||
  current.archivedAt !== null;

/**
 * How a deployment's schedules follow meltano.yml: new schedules appear
 * disabled; changed ones update in place and keep their enabled flag (an
 * invalid or manual-only one is disabled); removed ones are disabled and
 * archived; an archived one that returns is unarchived, still disabled.
 */
export function planScheduleSync(
  existing: ExistingSchedule[],
  wanted: WantedSchedule[],
): ScheduleSyncPlan {
  const plan: ScheduleSyncPlan = { create: [], update: [], archive: [], invalid: [] };
  const byName = new Map(existing.map((s) => [s.name, s]));
  for (const { name, ...rest } of wanted) {
    const fields: SyncedFields = { ...rest, archivedAt: null };
    if (fields.invalidReason) plan.invalid.push(name);
    const current = byName.get(name);
    byName.delete(name);
    if (!current) {
      plan.create.push({ name, data: { ...fields, enabled: false } });
    } else if (changed(current, fields)) {
      // An invalid schedule cannot stay enabled; a valid one keeps what the user chose.
      plan.update.push({
        id: current.id,
        name,
        data: { ...fields, ...(fields.invalidReason || !fields.cron ? { enabled: false } : {}) },
      });
    }
  }
  for (const gone of byName.values()) {
    if (!gone.archivedAt) plan.archive.push({ id: gone.id, name: gone.name });
  }
  return plan;
}

export const summaryOf = (plan: ScheduleSyncPlan): SyncSummary => ({
  added: plan.create.map((s) => s.name),
  updated: plan.update.map((s) => s.name),
  archived: plan.archive.map((s) => s.name),
  invalid: plan.invalid,
});

/** Applies a plan to the deployment's schedules, in the deploy's transaction. */
export async function applyScheduleSync(
  schedules: SchedulesRepository,
  orgId: OrgId,
  deploymentId: string,
  plan: ScheduleSyncPlan,
  tx: Tx,
): Promise<SyncSummary> {
  for (const { name, data } of plan.create) {
    await schedules.create(
      orgId,
      { deploymentId, name, offsetSeconds: scheduleOffsetSeconds(deploymentId, name), ...data },
      tx,
    );
  }
  for (const { id, data } of plan.update) await schedules.update(orgId, id, data, tx);
  for (const { id } of plan.archive) {
    await schedules.update(orgId, id, { enabled: false, archivedAt: new Date() }, tx);
  }
  return summaryOf(plan);
}
