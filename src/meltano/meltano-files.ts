/**
 * The include-path resolver and its file-system guard: this module owns which files make up
 * a project and reading them safely. `readMeltanoProject` finds meltano.yml, expands each
 * `include_paths` pattern the way Meltano's pathlib glob does (sorted, `**` not descending
 * through symbolic links, VCS metadata skipped), and reads the matches, refusing patterns
 * that are absolute or point outside the project or repository, files whose real path
 * (through symbolic links) leaves the repository, and repositories that exceed the limits on
 * file size, included files and directories scanned; the parsing and merging of the files is
 * `meltano-yaml.ts`. `pushTouchesProject` answers, from the same patterns, whether a push can
 * change a project.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import {
  MELTANO_FILE,
  MeltanoProjectError,
  errorMessage,
  mergeProjectFiles,
  parseProjectFile,
  readIncludePatterns,
  structureError,
  type MeltanoProject,
  type NodePath,
  type ProjectFile,
} from './meltano-yaml.js';

export interface ReadMeltanoProjectOptions {
  /**
   * The repository checkout containing `projectDir`. Included files may live anywhere inside
   * it (patterns like `../shared/*.yml`) but never outside it, and reported paths are relative
   * to it. Defaults to `projectDir` itself.
   */
  repoDir?: string;
}

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
  if (leavesBoundary(projectFromBoundary)) {
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
    const joined = joinPattern(root, pattern);
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
  const joined = joinPattern(projectFromBoundary, pattern);
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
  if (!leavesBoundary(path.relative(boundaryReal, real))) {
    return;
  }
  throw new MeltanoProjectError(
    'invalid_structure',
    `${describe()} pointing outside the repository; only files inside it can be included`,
    file,
    line ?? undefined,
  );
}

/** Whether a path relative to the boundary (native or posix separators) leaves it. */
function leavesBoundary(relative: string): boolean {
  return escapes(toPosix(relative)) || path.isAbsolute(relative);
}

/** `pattern` joined onto the repo-relative `directory` ('' is the root), normalized. */
function joinPattern(directory: string, pattern: string): string {
  return path.posix.normalize(path.posix.join(directory === '' ? '.' : directory, pattern));
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
