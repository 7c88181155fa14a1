import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import {
  Alias,
  LineCounter,
  isNode,
  parseDocument,
  visit,
  type Document,
  type YAMLError,
} from 'yaml';
import { intervalToCron } from './interval.js';

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
  env: Record<string, string>;
  /**
   * Environments the schedule runs in, from `annotations: { meltano.cloud: { environments } }`;
   * null (no annotation) means every environment.
   */
  environments: string[] | null;
  source: SourceLocation;
}

export interface MeltanoProject {
  defaultEnvironment: string | null;
  /** Environment names in merge order: meltano.yml first, then included files. */
  environments: string[];
  /** Job name -> `tasks` exactly as written (normally a list; may be a bare string). */
  jobs: Record<string, unknown>;
  schedules: MeltanoSchedule[];
  /** The raw `include_paths` patterns of meltano.yml. */
  includePaths: string[];
  /** Repo-relative paths of the files read, meltano.yml first. */
  files: string[];
}

export interface ReadMeltanoProjectOptions {
  /**
   * The repository checkout containing `projectDir`. Included files may live anywhere inside
   * it (patterns like `../shared/*.yml`) but never outside it, and reported paths are relative
   * to it. Defaults to `projectDir` itself.
   */
  repoDir?: string;
}

export interface ScheduleValidation {
  name: string;
  valid: boolean;
  invalidReason: string | null;
  /** The 5-field cron to fire on; null for manual-only and invalid schedules. */
  cron: string | null;
  /** `@manual` / `@once`: run only when asked, never on a timer. */
  manualOnly: boolean;
}

const MELTANO_FILE = 'meltano.yml';
const CLOUD_ANNOTATION = 'meltano.cloud';

// Limits that keep a hostile or accidental repository from exhausting a worker.
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const MAX_INCLUDED_FILES = 1000;
const MAX_DIRECTORY_READS = 10_000;

// Python's pathlib glob, which Meltano uses: `*` matches dotfiles; no braces, extglobs or
// negation.
const GLOB_OPTIONS: picomatch.PicomatchOptions = {
  dot: true,
  nobrace: true,
  noextglob: true,
  nonegate: true,
};

type NodePath = readonly (string | number)[];

interface ProjectFile {
  file: string;
  contents: Record<string, unknown>;
  lineOf(nodePath: NodePath): number | null;
}

interface GlobContext {
  boundaryRoot: string;
  listings: Map<string, Dirent[]>;
}

/**
 * Reads `meltano.yml` in `projectDir` and the files its `include_paths` match, merged the
 * way Meltano merges them. Throws `MeltanoProjectError` for anything the owner must fix.
 */
export async function readMeltanoProject(
  projectDir: string,
  options: ReadMeltanoProjectOptions = {},
): Promise<MeltanoProject> {
  const projectRoot = path.resolve(projectDir);
  const boundaryRoot = path.resolve(options.repoDir ?? projectDir);
  const projectFromBoundary = toPosix(path.relative(boundaryRoot, projectRoot));
  if (escapes(projectFromBoundary) || path.isAbsolute(projectFromBoundary)) {
    throw new Error(`projectDir ${projectRoot} is not inside repoDir ${boundaryRoot}`);
  }
  const boundaryReal = await realpath(boundaryRoot).catch(() => boundaryRoot);
  const mainDisplay = joinDisplay(projectFromBoundary, MELTANO_FILE);
  const mainAbsolute = path.join(projectRoot, MELTANO_FILE);

  const mainReal = await realpath(mainAbsolute).catch((error: unknown) => {
    if (isMissingFileError(error)) {
      const where = projectFromBoundary === '' ? 'in the project folder' : `at ${mainDisplay}`;
      throw new MeltanoProjectError(
        'missing_meltano_yml',
        `No meltano.yml ${where}: check that the project's root path points at the folder ` +
          'containing meltano.yml',
        mainDisplay,
      );
    }
    throw error;
  });
  assertInside(boundaryReal, mainReal, mainDisplay, () => `${mainDisplay} is a symbolic link`);
  const main = parseProjectFile(await readProjectFile(mainAbsolute, mainDisplay), mainDisplay);

  const includePaths = readIncludePatterns(main);
  const included: ProjectFile[] = [];
  const seen = new Set<string>([mainDisplay]);
  const context: GlobContext = { boundaryRoot, listings: new Map() };
  for (const [index, pattern] of includePaths.entries()) {
    const matches = await expandIncludePattern(pattern, projectFromBoundary, main, index, context);
    for (const display of matches) {
      const absolute = path.join(boundaryRoot, ...display.split('/'));
      const real = await realpath(absolute);
      // Meltano never includes meltano.yml itself, even when a pattern matches it.
      if (seen.has(display) || real === mainReal) {
        continue;
      }
      assertInside(
        boundaryReal,
        real,
        main.file,
        () => `include_paths pattern '${pattern}' matches ${display}, a symbolic link`,
        main.lineOf(['include_paths', index]),
      );
      seen.add(display);
      if (seen.size > MAX_INCLUDED_FILES + 1) {
        throw structureError(
          main,
          ['include_paths'],
          `include_paths match more than ${MAX_INCLUDED_FILES} files`,
        );
      }
      included.push(parseProjectFile(await readProjectFile(absolute, display), display));
    }
  }

  return mergeProjectFiles([main, ...included], includePaths);
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

/**
 * Whether a push changing `changedPaths` (repo-relative) can change the project rooted at
 * `rootPath` ('.' for the repository root): any change under the root, or a match of an
 * include pattern that reaches outside it with `../`.
 */
export function pushTouchesProject(
  changedPaths: string[],
  rootPath: string,
  includePaths: string[],
): boolean {
  const root = normalizeRepoPath(rootPath);
  if (root === null) {
    throw new Error(`Root path '${rootPath}' is outside the repository`);
  }
  const outsideRootMatchers = includePaths.flatMap((pattern) => {
    if (typeof pattern !== 'string' || isAbsolutePattern(pattern)) {
      return [];
    }
    const joined = path.posix.normalize(path.posix.join(root === '' ? '.' : root, pattern));
    // Outside the repository no push can change it; inside the root the root check covers it.
    if (escapes(joined) || isWithin(joined, root)) {
      return [];
    }
    return [picomatch(joined, GLOB_OPTIONS)];
  });
  return changedPaths.some((changedPath) => {
    const changed = normalizeRepoPath(changedPath);
    if (changed === null || changed === '') {
      return false;
    }
    return isWithin(changed, root) || outsideRootMatchers.some((isMatch) => isMatch(changed));
  });
}

function mergeProjectFiles(files: ProjectFile[], includePaths: string[]): MeltanoProject {
  let defaultEnvironment: string | null = null;
  const environments = new Map<string, SourceLocation>();
  const jobs = new Map<string, { tasks: unknown; source: SourceLocation }>();
  const schedules = new Map<string, MeltanoSchedule>();

  for (const file of files) {
    // Later files win, as in Meltano's deep merge of scalar keys.
    if (Object.hasOwn(file.contents, 'default_environment')) {
      const value = file.contents.default_environment;
      defaultEnvironment = value === null ? null : scalarText(value);
      if (value !== null && defaultEnvironment === null) {
        throw structureError(
          file,
          ['default_environment'],
          'default_environment must be an environment name',
        );
      }
    }
    for (const environment of readEnvironments(file)) {
      rejectDuplicate('environment', environment.name, environments.get(environment.name), file, [
        'environments',
        environment.index,
      ]);
      environments.set(environment.name, environment.source);
    }
    for (const job of readJobs(file)) {
      rejectDuplicate('job', job.name, jobs.get(job.name)?.source, file, ['jobs', job.index]);
      jobs.set(job.name, { tasks: job.tasks, source: job.source });
    }
    for (const [index, schedule] of readSchedules(file).entries()) {
      rejectDuplicate('schedule', schedule.name, schedules.get(schedule.name)?.source, file, [
        'schedules',
        index,
      ]);
      schedules.set(schedule.name, schedule);
    }
  }

  return {
    defaultEnvironment,
    environments: [...environments.keys()],
    // fromEntries defines own properties, so a job named `__proto__` stays a job.
    jobs: Object.fromEntries([...jobs].map(([name, job]) => [name, job.tasks])),
    schedules: [...schedules.values()],
    includePaths,
    files: files.map((file) => file.file),
  };
}

function readIncludePatterns(main: ProjectFile): string[] {
  const raw = main.contents.include_paths;
  if (raw === undefined || raw === null) {
    return [];
  }
  if (!Array.isArray(raw)) {
    throw structureError(main, ['include_paths'], 'include_paths must be a list of file patterns');
  }
  return raw.map((pattern: unknown, index) => {
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

function readEnvironments(
  file: ProjectFile,
): { name: string; index: number; source: SourceLocation }[] {
  return readNamedList(file, 'environments', 'environment').map((entry) => ({
    name: entry.name,
    index: entry.index,
    source: entry.source,
  }));
}

function readJobs(
  file: ProjectFile,
): { name: string; index: number; tasks: unknown; source: SourceLocation }[] {
  return readNamedList(file, 'jobs', 'job').map((entry) => ({
    name: entry.name,
    index: entry.index,
    tasks: entry.value.tasks ?? null,
    source: entry.source,
  }));
}

function readSchedules(file: ProjectFile): MeltanoSchedule[] {
  return readNamedList(file, 'schedules', 'schedule').map(({ name, index, value, source }) => {
    const at = (...rest: (string | number)[]): NodePath => ['schedules', index, ...rest];
    const text = (key: string): string | null => {
      const raw = value[key];
      if (raw === undefined || raw === null) {
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
      env: readScheduleEnv(file, name, value.env, at('env')),
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
): Record<string, string> {
  if (raw === undefined || raw === null) {
    return {};
  }
  if (!isRecord(raw)) {
    throw structureError(file, at, `schedule '${scheduleName}': env must map names to values`);
  }
  return Object.fromEntries(
    Object.entries(raw).map(([key, value]) => {
      const text = value === null ? '' : scalarText(value);
      if (text === null) {
        throw structureError(
          file,
          [...at, key],
          `schedule '${scheduleName}': env ${key} must be a single value`,
        );
      }
      return [key, text];
    }),
  );
}

function readEnvironmentAnnotation(
  file: ProjectFile,
  scheduleName: string,
  raw: unknown,
  at: NodePath,
): string[] | null {
  if (raw === undefined || raw === null) {
    return null;
  }
  if (!isRecord(raw)) {
    throw structureError(file, at, `schedule '${scheduleName}': annotations must be a mapping`);
  }
  const cloud = raw[CLOUD_ANNOTATION];
  if (cloud === undefined || cloud === null) {
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
  const raw = file.contents[key];
  if (raw === undefined || raw === null) {
    return [];
  }
  if (!Array.isArray(raw)) {
    throw structureError(file, [key], `${key} must be a list of ${noun}s, each with a name`);
  }
  return raw.map((value: unknown, index) => {
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

function rejectDuplicate(
  noun: string,
  name: string,
  existing: SourceLocation | undefined,
  file: ProjectFile,
  at: NodePath,
): void {
  if (existing === undefined) {
    return;
  }
  const first = existing.line === null ? existing.file : `${existing.file} line ${existing.line}`;
  throw structureError(file, at, `${noun} '${name}' is defined twice (first in ${first})`);
}

async function readProjectFile(absolute: string, display: string): Promise<string> {
  try {
    const info = await stat(absolute);
    if (!info.isFile()) {
      throw new MeltanoProjectError('invalid_structure', `${display} is not a file`, display);
    }
    if (info.size > MAX_FILE_BYTES) {
      throw new MeltanoProjectError(
        'invalid_structure',
        `${display} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`,
        display,
      );
    }
    return await readFile(absolute, 'utf8');
  } catch (error) {
    if (error instanceof MeltanoProjectError) {
      throw error;
    }
    const reason = errorMessage(error);
    throw new MeltanoProjectError(
      'invalid_structure',
      `Cannot read ${display}: ${reason}`,
      display,
    );
  }
}

function parseProjectFile(text: string, file: string): ProjectFile {
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
  if (value === null || value === undefined) {
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
  return { file, contents: value, lineOf };
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

/**
 * The files (boundary-relative, posix) an include pattern matches, sorted. Follows pathlib:
 * `**` is zero or more directories and does not descend through symbolic links; a trailing
 * `**` matches directories only, so no files.
 */
async function expandIncludePattern(
  pattern: string,
  projectFromBoundary: string,
  main: ProjectFile,
  index: number,
  context: GlobContext,
): Promise<string[]> {
  const at: NodePath = ['include_paths', index];
  if (isAbsolutePattern(pattern)) {
    throw structureError(
      main,
      at,
      `include_paths pattern '${pattern}' must be relative to the folder of meltano.yml`,
    );
  }
  const joined = path.posix.normalize(
    path.posix.join(projectFromBoundary === '' ? '.' : projectFromBoundary, pattern),
  );
  if (escapes(joined)) {
    throw structureError(
      main,
      at,
      `include_paths pattern '${pattern}' points outside the ` +
        (projectFromBoundary === '' ? 'project directory' : 'repository'),
    );
  }
  const segments = joined.split('/').filter((segment) => segment !== '' && segment !== '.');
  const matches = new Set<string>();
  try {
    await collectMatches(context.boundaryRoot, [], segments, 0, matches, context);
  } catch (error) {
    if (error instanceof TooManyDirectoriesError) {
      throw structureError(
        main,
        at,
        `include_paths pattern '${pattern}' scans more than ${MAX_DIRECTORY_READS} directories`,
      );
    }
    throw error;
  }
  return [...matches].sort(compareBySegments);
}

class TooManyDirectoriesError extends Error {}

async function collectMatches(
  directory: string,
  relative: string[],
  segments: string[],
  index: number,
  matches: Set<string>,
  context: GlobContext,
): Promise<void> {
  const segment = segments[index];
  if (segment === undefined) {
    return;
  }
  const isLast = index === segments.length - 1;
  if (segment === '**') {
    if (isLast) {
      return;
    }
    await collectMatches(directory, relative, segments, index + 1, matches, context);
    for (const entry of await listDirectory(directory, context)) {
      // VCS metadata is never project configuration, and can be large.
      if (entry.isDirectory() && entry.name !== '.git') {
        const child = path.join(directory, entry.name);
        await collectMatches(child, [...relative, entry.name], segments, index, matches, context);
      }
    }
    return;
  }

  const visitEntry = async (name: string): Promise<void> => {
    const child = path.join(directory, name);
    const kind = await entryKind(child);
    if (isLast) {
      if (kind === 'file') {
        matches.add([...relative, name].join('/'));
      }
    } else if (kind === 'directory') {
      await collectMatches(child, [...relative, name], segments, index + 1, matches, context);
    }
  };

  if (!picomatch.scan(segment).isGlob) {
    await visitEntry(segment);
    return;
  }
  const isMatch = picomatch(segment, GLOB_OPTIONS);
  for (const entry of await listDirectory(directory, context)) {
    if (isMatch(entry.name)) {
      await visitEntry(entry.name);
    }
  }
}

async function listDirectory(directory: string, context: GlobContext): Promise<Dirent[]> {
  const cached = context.listings.get(directory);
  if (cached !== undefined) {
    return cached;
  }
  if (context.listings.size >= MAX_DIRECTORY_READS) {
    throw new TooManyDirectoriesError();
  }
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => compareText(a.name, b.name));
  context.listings.set(directory, entries);
  return entries;
}

async function entryKind(absolute: string): Promise<'file' | 'directory' | null> {
  try {
    const info = await stat(absolute);
    return info.isFile() ? 'file' : info.isDirectory() ? 'directory' : null;
  } catch {
    return null;
  }
}

function assertInside(
  boundaryReal: string,
  real: string,
  file: string,
  describe: () => string,
  line?: number | null,
): void {
  const relative = path.relative(boundaryReal, real);
  if (relative === '' || (!escapes(toPosix(relative)) && !path.isAbsolute(relative))) {
    return;
  }
  throw new MeltanoProjectError(
    'invalid_structure',
    `${describe()} pointing outside the repository; only files inside it can be included`,
    file,
    line ?? undefined,
  );
}

function structureError(file: ProjectFile, at: NodePath, message: string): MeltanoProjectError {
  const line = file.lineOf(at);
  const where = line === null ? file.file : `${file.file} line ${line}`;
  return new MeltanoProjectError(
    'invalid_structure',
    `${where}: ${message}`,
    file.file,
    line ?? undefined,
  );
}

/** A repo-relative path without `./`, leading or trailing slashes; '' is the root; null escapes. */
function normalizeRepoPath(repoPath: string): string | null {
  const normalized = path.posix.normalize(repoPath.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (escapes(normalized)) {
    return null;
  }
  return normalized === '.' ? '' : normalized;
}

function isWithin(repoPath: string, root: string): boolean {
  return root === '' || repoPath === root || repoPath.startsWith(`${root}/`);
}

function escapes(posixPath: string): boolean {
  return posixPath === '..' || posixPath.startsWith('../');
}

function isAbsolutePattern(pattern: string): boolean {
  return path.posix.isAbsolute(pattern) || path.win32.isAbsolute(pattern);
}

function joinDisplay(directory: string, name: string): string {
  return directory === '' ? name : `${directory}/${name}`;
}

function toPosix(filePath: string): string {
  return filePath.split(path.sep).join('/');
}

function isMissingFileError(error: unknown): boolean {
  // Duck-typed: errors from Node's fs may come from another realm (e.g. under Jest).
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : null;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String(error.message);
  }
  return String(error);
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

// Segment by segment, like Python's Path ordering: `a/b` sorts before `a-c`.
function compareBySegments(left: string, right: string): number {
  const leftSegments = left.split('/');
  const rightSegments = right.split('/');
  const shared = Math.min(leftSegments.length, rightSegments.length);
  for (let index = 0; index < shared; index += 1) {
    const order = compareText(leftSegments[index] ?? '', rightSegments[index] ?? '');
    if (order !== 0) {
      return order;
    }
  }
  return leftSegments.length - rightSegments.length;
}

function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function listOrNone(names: string[]): string {
  return names.length > 0 ? names.join(', ') : 'none';
}

function quote(name: string): string {
  return `'${name}'`;
}
