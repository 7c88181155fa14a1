/**
 * The queries over a read project: this module owns what the service asks of a
 * `MeltanoProject` once `readMeltanoProject` has produced it, without touching the files
 * again. `validateSchedules` says whether each schedule can run as written (its job is
 * defined, or it names an extractor and a loader; its interval resolves to a cron or is
 * manual-only; its `meltano.cloud` annotation names only defined environments);
 * `schedulesForEnvironment` picks the schedules that run in one environment; and
 * `assertEnvironmentExists` rejects an environment the project does not define.
 */
import { intervalToCron } from '../schedules/interval.js';
import {
  CLOUD_ANNOTATION,
  MELTANO_FILE,
  MeltanoProjectError,
  type MeltanoProject,
  type MeltanoSchedule,
} from './meltano-yaml.js';

export interface ScheduleValidation {
  name: string;
  valid: boolean;
  invalidReason: string | null;
  /** The 5-field cron to fire on; null for manual-only and invalid schedules. */
  cron: string | null;
  /** `@manual` / `@once`: run only when asked, never on a timer. */
  manualOnly: boolean;
}

/**
 * Whether each schedule can run as written. An invalid schedule stays listed (with the
 * reason) but cannot be enabled.
 */
export function validateSchedules(project: MeltanoProject): ScheduleValidation[] {
  const jobNames = Object.keys(project.jobs);
  return project.schedules.map((schedule) => {
    const problems: string[] = [];
    if (schedule.job !== null) {
      if (!Object.hasOwn(project.jobs, schedule.job)) {
        problems.push(
          `job '${schedule.job}' is not defined in jobs (known: ${listOrNone(jobNames)})`,
        );
      }
    } else if (schedule.extractor === null || schedule.loader === null) {
      problems.push(
        schedule.extractor === null && schedule.loader === null
          ? 'it names neither a job nor an extractor and loader'
          : `it names ${schedule.extractor === null ? 'a loader but no extractor' : 'an extractor but no loader'}`,
      );
    }
    const resolution = intervalToCron(schedule.interval);
    if (resolution.kind === 'invalid') {
      problems.push(resolution.reason);
    }
    if (schedule.environments !== null) {
      const unknown = schedule.environments.filter((name) => !project.environments.includes(name));
      if (unknown.length > 0) {
        problems.push(
          `its ${CLOUD_ANNOTATION} annotation names undefined environment` +
            `${unknown.length === 1 ? '' : 's'} ${unknown.map(quote).join(', ')} ` +
            `(known: ${listOrNone(project.environments)})`,
        );
      }
    }
    if (problems.length > 0) {
      return {
        name: schedule.name,
        valid: false,
        invalidReason: `Schedule '${schedule.name}': ${problems.join('; ')}`,
        cron: null,
        manualOnly: false,
      };
    }
    return {
      name: schedule.name,
      valid: true,
      invalidReason: null,
      cron: resolution.kind === 'cron' ? resolution.cron : null,
      manualOnly: resolution.kind === 'manual',
    };
  });
}

/** The schedules that run in `environment`: unannotated ones and those that name it. */
export function schedulesForEnvironment(
  project: MeltanoProject,
  environment: string,
): MeltanoSchedule[] {
  return project.schedules.filter(
    (schedule) => schedule.environments === null || schedule.environments.includes(environment),
  );
}

export function assertEnvironmentExists(project: MeltanoProject, environment: string): void {
  if (project.environments.includes(environment)) {
    return;
  }
  const known =
    project.environments.length > 0
      ? `known: ${project.environments.join(', ')}`
      : 'the project defines no environments';
  throw new MeltanoProjectError(
    'unknown_environment',
    `Environment '${environment}' is not defined in meltano.yml (${known})`,
    project.files[0] ?? MELTANO_FILE,
  );
}

function listOrNone(names: string[]): string {
  return names.length > 0 ? names.join(', ') : 'none';
}

function quote(name: string): string {
  return `'${name}'`;
}
