/**
 * The public API for reading a Meltano project, kept at this path for its importers. The
 * code lives in three modules: `meltano-yaml.ts` (the typed structures, the error, and
 * parsing and merging the YAML files), `meltano-files.ts` (`readMeltanoProject`: the
 * include-path resolver and its file-system guard; `pushTouchesProject`) and
 * `meltano-queries.ts` (validation and lookups over a read project).
 */
export {
  MeltanoProjectError,
  type MeltanoProject,
  type MeltanoProjectErrorCode,
  type MeltanoSchedule,
  type SourceLocation,
} from './meltano-yaml.js';
export {
  pushTouchesProject,
  readMeltanoProject,
  type ReadMeltanoProjectOptions,
} from './meltano-files.js';
export {
  assertEnvironmentExists,
  environmentWithoutOne,
  schedulesForEnvironment,
  validateSchedules,
  type ScheduleValidation,
  type ValidateOptions,
} from './meltano-queries.js';
