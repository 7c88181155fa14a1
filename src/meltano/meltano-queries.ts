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
  /** `@manual` / `@once` / `@none`: run only when asked, never on a timer. */
  manualOnly: boolean;
}

export interface ValidateOptions {
  /**
   * The deployment's environment; null: none is passed, so Meltano uses `default_environment`
   * (and `meltano run`, which runs jobs, refuses to run without any environment).
   */
  environment?: string | null;
}

/**
 * Whether each schedule can run as written. An invalid schedule stays listed (with the
 * reason, which names the file and line of the schedule) but cannot be enabled.
 */
export function validateSchedules(
  project: MeltanoProject,
  options: ValidateOptions = {},
): ScheduleValidation[] {
  const jobNames = Object.keys(project.jobs);
  const noEnvironment = options.environment === null && project.defaultEnvironment === null;
  return project.schedules.map((schedule) => {
    const problems: string[] = [];
    if (schedule.job !== null) {
      if (!Object.hasOwn(project.jobs, schedule.job)) {
        problems.push(
          `job '${schedule.job}' is not defined in jobs (known: ${listOrNone(jobNames)})`,
        );
      } else if (noEnvironment) {
        // Meltano's `meltano run` is `environment_required`: with no --environment and no
        // default_environment it stops with "A Meltano environment must be specified".
        problems.push(
          'it runs a job, and Meltano runs jobs (meltano run) only in an environment: this ' +
            'deployment has none and meltano.yml sets no default_environment (define an ' +
            'environment and set it on the deployment, or schedule an extractor and loader)',
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
        invalidReason: `Schedule '${schedule.name}' (${where(schedule)}): ${problems.join('; ')}`,
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

/**
 * The schedules that run in `environment`: unannotated ones and those that name it. With no
 * environment (null), only the unannotated ones.
 */
export function schedulesForEnvironment(
  project: MeltanoProject,
  environment: string | null,
): MeltanoSchedule[] {
  return project.schedules.filter(
    (schedule) =>
      schedule.environments === null ||
      (environment !== null && schedule.environments.includes(environment)),
  );
}

/**
 * The environment Meltano runs in when the deployment passes none: `default_environment`, if
 * set. Meltano stops when it names an environment the project does not define (also for
 * `meltano el`), so such a project is refused here with the file and line to fix.
 */
export function environmentWithoutOne(project: MeltanoProject): string | null {
  const name = project.defaultEnvironment;
  if (name === null || project.environments.includes(name)) {
    return name;
  }
  const source = project.defaultEnvironmentSource;
  const at = source === null ? (project.files[0] ?? MELTANO_FILE) : where(source);
  const known = knownEnvironments(project);
  throw new MeltanoProjectError(
    'unknown_environment',
    `${at}: default_environment '${name}' is not a defined environment (${known}); Meltano ` +
      'uses it when the deployment has no environment and would stop: remove it or define it',
    source?.file ?? project.files[0] ?? MELTANO_FILE,
    source?.line ?? undefined,
  );
}

/** What a refusal says the project does define. */
const knownEnvironments = (project: MeltanoProject): string =>
  project.environments.length > 0
    ? `known: ${project.environments.join(', ')}`
    : 'the project defines no environments';

export function assertEnvironmentExists(project: MeltanoProject, environment: string): void {
  if (project.environments.includes(environment)) {
    return;
  }
  const known = knownEnvironments(project);
  throw new MeltanoProjectError(
    'unknown_environment',
    `Environment '${environment}' is not defined in meltano.yml (${known})`,
    project.files[0] ?? MELTANO_FILE,
  );
}

/** `meltano.yml line 12`, or the file alone when the line is unknown. */
function where(located: { file: string; line: number | null } | MeltanoSchedule): string {
  const source = 'source' in located ? located.source : located;
  return source.line === null ? source.file : `${source.file} line ${source.line}`;
}

function listOrNone(names: string[]): string {
  return names.length > 0 ? names.join(', ') : 'none';
}

function quote(name: string): string {
  return `'${name}'`;
}
