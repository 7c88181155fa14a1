/**
 * The YAML readers: this module owns the typed structures a Meltano project is read into
 * (`MeltanoProject`, `MeltanoSchedule`, `SourceLocation`) and the `MeltanoProjectError` that
 * reports what the owner must fix, and turns file text into them. It parses one file's text
 * into a `ProjectFile` (YAML syntax and alias errors, top-level mapping, the line of any node),
 * reads its sections (`include_paths`, `default_environment`, `environments`, `jobs`,
 * `schedules` with their `env` and `meltano.cloud` annotation) and merges meltano.yml with its
 * included files the way Meltano does, rejecting names defined twice. It never touches the
 * file system: finding and reading the files is `meltano-files.ts`.
 */
import {
  Alias,
  LineCounter,
  isMap,
  isNode,
  isScalar,
  parseDocument,
  visit,
  type Document,
  type YAMLError,
} from 'yaml';

export type MeltanoProjectErrorCode =
  'missing_meltano_yml' | 'yaml_syntax' | 'invalid_structure' | 'unknown_environment';

/** A problem with the project as committed; the message is meant for the project's owner. */
export class MeltanoProjectError extends Error {
  override readonly name = 'MeltanoProjectError';

  constructor(
    readonly code: MeltanoProjectErrorCode,
    message: string,
    /** Repo-relative path of the file at fault. */
    readonly file: string,
    /** 1-based line in `file`, when known. */
    readonly line?: number,
  ) {
    super(message);
  }
}

export interface SourceLocation {
  /** Repo-relative path (see `ReadMeltanoProjectOptions.repoDir`). */
  file: string;
  line: number | null;
}

/**
 * A schedule as written. Meltano has two kinds: a `job` schedule (job set, the ELT fields
 * null) and a legacy ELT schedule (`extractor`/`loader`/`transform`, job null).
 */
export interface MeltanoSchedule {
  name: string;
  /** Raw interval, e.g. `@daily` or `0 6 * * *`; null when missing. */
  interval: string | null;
  job: string | null;
  extractor: string | null;
  loader: string | null;
  transform: string | null;
  /** `env` as written; `envEntries` keeps its written order (integer-like keys included). */
  env: Record<string, string>;
  envEntries: [string, string][];
  /**
   * Environments the schedule runs in, from `annotations: { meltano.cloud: { environments } }`;
   * null (no annotation) means every environment.
   */
  environments: string[] | null;
  source: SourceLocation;
}

export interface MeltanoProject {
  defaultEnvironment: string | null;
  /** Where the winning `default_environment` is set; null when none is. */
  defaultEnvironmentSource: SourceLocation | null;
  /** Environment names in merge order: meltano.yml first, then included files. */
  environments: string[];
  /** Job name -> `tasks` exactly as written (normally a list; may be a bare string). */
  jobs: Record<string, unknown>;
  /** The same jobs as `[name, tasks]` pairs, in merge order. */
  jobEntries: [string, unknown][];
  schedules: MeltanoSchedule[];
  /** The raw `include_paths` patterns of meltano.yml. */
  includePaths: string[];
  /** Repo-relative paths of the files read, meltano.yml first. */
  files: string[];
}

export const MELTANO_FILE = 'meltano.yml';
export const CLOUD_ANNOTATION = 'meltano.cloud';

export type NodePath = readonly (string | number)[];

/** One parsed file of the project. */
export interface ProjectFile {
  /** Repo-relative path. */
  file: string;
  contents: Record<string, unknown>;
  lineOf(nodePath: NodePath): number | null;
  /** The keys of the mapping at `nodePath` in written order (null when it is not a mapping). */
  keysOf(nodePath: NodePath): string[] | null;
}

export function parseProjectFile(text: string, file: string): ProjectFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true });
  const [syntaxError] = document.errors;
  if (syntaxError !== undefined) {
    const line = syntaxError.linePos?.[0].line ?? lineCounter.linePos(syntaxError.pos[0]).line;
    throw new MeltanoProjectError(
      'yaml_syntax',
      `YAML syntax error in ${file} line ${line}: ${describeYamlError(syntaxError)}`,
      file,
      line,
    );
  }
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;

  let value: unknown;
  try {
    value = document.toJS();
  } catch (error) {
    // Resolving aliases fails here, after parsing: an alias before (or without) its
    // anchor, or aliases nested deeply enough to expand exponentially.
    const detail = errorMessage(error);
    const line = firstUnresolvedAliasLine(document, lineAt);
    throw new MeltanoProjectError(
      'yaml_syntax',
      `YAML syntax error in ${file}${line === undefined ? '' : ` line ${line}`}: ${detail}`,
      file,
      line,
    );
  }
  if (isAbsent(value)) {
    value = {};
  }

  const lineOf = (nodePath: NodePath): number | null => {
    for (let depth = nodePath.length; depth >= 0; depth -= 1) {
      const node = depth === 0 ? document.contents : document.getIn(nodePath.slice(0, depth), true);
      if (isNode(node) && node.range) {
        return lineAt(node.range[0]);
      }
    }
    return null;
  };
  if (!isRecord(value)) {
    throw new MeltanoProjectError(
      'invalid_structure',
      `${file} must be a YAML mapping (key: value lines) at the top level`,
      file,
      lineOf([]) ?? undefined,
    );
  }
  const keysOf = (nodePath: NodePath): string[] | null => {
    const node = nodePath.length === 0 ? document.contents : document.getIn(nodePath, true);
    if (!isMap(node)) return null;
    const keys = node.items.map((pair) => {
      const key: unknown = pair.key;
      return isScalar(key) ? String(key.value) : String(key);
    });
    // A merge key (`<<: *anchor`) brings keys from elsewhere: fall back to the merged object.
    return keys.includes('<<') ? null : keys;
  };
  return { file, contents: value, lineOf, keysOf };
}

/** The `include_paths` patterns of meltano.yml, as written. */
export function readIncludePatterns(main: ProjectFile): string[] {
  return readTopLevelList(main, 'include_paths', 'file patterns').map((pattern, index) => {
    if (typeof pattern !== 'string' || pattern.trim() === '') {
      throw structureError(
        main,
        ['include_paths', index],
        'include_paths entries must be file patterns such as ./extract/*.meltano.yml',
      );
    }
    return pattern;
  });
}

/** meltano.yml then its included files, merged in that order. */
export function mergeProjectFiles(files: ProjectFile[], includePaths: string[]): MeltanoProject {
  let defaultEnvironment: string | null = null;
  let defaultEnvironmentSource: SourceLocation | null = null;
  const environments = new Map<string, { source: SourceLocation }>();
  const jobs = new Map<string, { tasks: unknown; source: SourceLocation }>();
  const schedules = new Map<string, MeltanoSchedule>();

  for (const file of files) {
    // Later files win, as in Meltano's deep merge of scalar keys.
    if (Object.hasOwn(file.contents, 'default_environment')) {
      const value = file.contents.default_environment;
      defaultEnvironment = value === null ? null : scalarText(value);
      defaultEnvironmentSource =
        value === null ? null : { file: file.file, line: file.lineOf(['default_environment']) };
      if (value !== null && defaultEnvironment === null) {
        throw structureError(
          file,
          ['default_environment'],
          'default_environment must be an environment name',
        );
      }
    }
    for (const { name, index, source } of readNamedList(file, 'environments', 'environment')) {
      defineOnce(environments, 'environment', name, { source }, file, ['environments', index]);
    }
    for (const { name, index, value, source } of readNamedList(file, 'jobs', 'job')) {
      defineOnce(jobs, 'job', name, { tasks: value.tasks ?? null, source }, file, ['jobs', index]);
    }
    for (const [index, schedule] of readSchedules(file).entries()) {
      defineOnce(schedules, 'schedule', schedule.name, schedule, file, ['schedules', index]);
    }
  }

  const jobEntries = [...jobs].map(([name, job]): [string, unknown] => [name, job.tasks]);
  return {
    defaultEnvironment,
    defaultEnvironmentSource,
    environments: [...environments.keys()],
    // fromEntries defines own properties, so a job named `__proto__` stays a job.
    jobs: Object.fromEntries(jobEntries),
    jobEntries,
    schedules: [...schedules.values()],
    includePaths,
    files: files.map((file) => file.file),
  };
}

/** An `invalid_structure` error pointing at the node `at` of `file` (or its nearest parent). */
export function structureError(
  file: ProjectFile,
  at: NodePath,
  message: string,
): MeltanoProjectError {
  const line = file.lineOf(at);
  const where = line === null ? file.file : `${file.file} line ${line}`;
  return new MeltanoProjectError(
    'invalid_structure',
    `${where}: ${message}`,
    file.file,
    line ?? undefined,
  );
}

export function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String(error.message);
  }
  return String(error);
}

function readSchedules(file: ProjectFile): MeltanoSchedule[] {
  return readNamedList(file, 'schedules', 'schedule').map(({ name, index, value, source }) => {
    const at = (...rest: (string | number)[]): NodePath => ['schedules', index, ...rest];
    const text = (key: string): string | null => {
      const raw = value[key];
      if (isAbsent(raw)) {
        return null;
      }
      const asText = scalarText(raw);
      if (asText === null) {
        throw structureError(file, at(key), `schedule '${name}': ${key} must be a single value`);
      }
      return asText;
    };
    return {
      name,
      interval: text('interval'),
      job: text('job'),
      extractor: text('extractor'),
      loader: text('loader'),
      transform: text('transform'),
      ...readScheduleEnv(file, name, value.env, at('env')),
      environments: readEnvironmentAnnotation(file, name, value.annotations, at('annotations')),
      source,
    };
  });
}

function readScheduleEnv(
  file: ProjectFile,
  scheduleName: string,
  raw: unknown,
  at: NodePath,
): { env: Record<string, string>; envEntries: [string, string][] } {
  if (isAbsent(raw)) {
    return { env: {}, envEntries: [] };
  }
  if (!isRecord(raw)) {
    throw structureError(file, at, `schedule '${scheduleName}': env must map names to values`);
  }
  // Written order from the YAML node: a JS object puts integer-like keys first.
  const written = file.keysOf(at);
  const keys =
    written !== null &&
    written.length === Object.keys(raw).length &&
    written.every((key) => Object.hasOwn(raw, key))
      ? written
      : Object.keys(raw);
  const envEntries = keys.map((key): [string, string] => {
    const value = raw[key];
    const text = value === null ? '' : scalarText(value);
    if (text === null) {
      throw structureError(
        file,
        [...at, key],
        `schedule '${scheduleName}': env ${key} must be a single value`,
      );
    }
    return [key, text];
  });
  return { env: Object.fromEntries(envEntries), envEntries };
}

function readEnvironmentAnnotation(
  file: ProjectFile,
  scheduleName: string,
  raw: unknown,
  at: NodePath,
): string[] | null {
  if (isAbsent(raw)) {
    return null;
  }
  if (!isRecord(raw)) {
    throw structureError(file, at, `schedule '${scheduleName}': annotations must be a mapping`);
  }
  const cloud = raw[CLOUD_ANNOTATION];
  if (isAbsent(cloud)) {
    return null;
  }
  const cloudAt = [...at, CLOUD_ANNOTATION];
  if (
    !isRecord(cloud) ||
    (cloud.environments !== undefined && !Array.isArray(cloud.environments))
  ) {
    throw structureError(
      file,
      cloudAt,
      `schedule '${scheduleName}': annotations.${CLOUD_ANNOTATION} must look like ` +
        '{ environments: [prod, staging] }',
    );
  }
  if (cloud.environments === undefined) {
    return null;
  }
  return cloud.environments.map((environment: unknown, index) => {
    const name = scalarText(environment);
    if (name === null || name === '') {
      throw structureError(
        file,
        [...cloudAt, 'environments', index],
        `schedule '${scheduleName}': annotations.${CLOUD_ANNOTATION}.environments must list ` +
          'environment names',
      );
    }
    return name;
  });
}

/** The entries of a top-level list of `{ name, ... }` mappings (environments, jobs, schedules). */
function readNamedList(
  file: ProjectFile,
  key: string,
  noun: string,
): { name: string; index: number; value: Record<string, unknown>; source: SourceLocation }[] {
  return readTopLevelList(file, key, `${noun}s, each with a name`).map((value, index) => {
    const name = isRecord(value) ? scalarText(value.name) : null;
    if (!isRecord(value) || name === null || name === '') {
      throw structureError(
        file,
        [key, index],
        `${noun} #${index + 1} in ${key} must be a mapping with a name`,
      );
    }
    return { name, index, value, source: { file: file.file, line: file.lineOf([key, index]) } };
  });
}

/** A top-level key that must hold a list (of `items`, as the error says); absent is empty. */
function readTopLevelList(file: ProjectFile, key: string, items: string): unknown[] {
  const raw = file.contents[key];
  if (isAbsent(raw)) {
    return [];
  }
  if (!Array.isArray(raw)) {
    throw structureError(file, [key], `${key} must be a list of ${items}`);
  }
  return raw as unknown[];
}

/** Adds `entry` under `name`, unless an earlier entry (or file) already defined that name. */
function defineOnce<T extends { source: SourceLocation }>(
  defined: Map<string, T>,
  noun: string,
  name: string,
  entry: T,
  file: ProjectFile,
  at: NodePath,
): void {
  const existing = defined.get(name)?.source;
  if (existing !== undefined) {
    const first = existing.line === null ? existing.file : `${existing.file} line ${existing.line}`;
    throw structureError(file, at, `${noun} '${name}' is defined twice (first in ${first})`);
  }
  defined.set(name, entry);
}

function describeYamlError(error: YAMLError): string {
  const [firstLine = error.message] = error.message.split('\n');
  const detail = firstLine.replace(/ at line \d+, column \d+:?$/, '');
  if (error.code === 'BAD_SCALAR_START' && detail.includes('@')) {
    return `${detail} (quote values starting with @, e.g. interval: '@daily')`;
  }
  return detail;
}

function firstUnresolvedAliasLine(
  document: Document,
  lineAt: (offset: number) => number,
): number | undefined {
  let line: number | undefined;
  visit(document, {
    Alias(_key, node: Alias) {
      if (node.resolve(document) === undefined && node.range) {
        line = lineAt(node.range[0]);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return line;
}

function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalarText(value: unknown): string | null {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return null;
}
