/**
 * The key of a plugin install: a hash of everything that decides what
 * `meltano install` puts in `.meltano/` — meltano.yml and every file its
 * `include_paths` pull in (plugins, their `pip_url`s and variants, `python`),
 * every file under `plugins/` (the lock files Meltano installs from), and the
 * Meltano version (`meltano --version`). Two checkouts with the same key get
 * the same virtual environments, so one install serves both.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readMeltanoProject } from '../../../meltano/meltano-files.js';

/** 32 hex characters: one path segment, never anything else. */
export const INSTALL_KEY = /^[0-9a-f]{32}$/;

/** Past this many files under plugins/ the key is refused (the cache is then not used). */
const MAX_PLUGIN_FILES = 5000;

export interface InstallKeyInput {
  /** The checkout (included files may live anywhere in it). */
  repoDir: string;
  /** The folder holding meltano.yml. */
  projectDir: string;
  /** What `meltano --version` printed. */
  meltanoVersion: string;
}

export interface InstallKey {
  key: string;
  /** Repo-relative files that went into the key, in the order hashed. */
  files: string[];
}

/** Throws (MeltanoProjectError, I/O errors) when the project cannot be read as Meltano reads it. */
export async function installKeyOf(input: InstallKeyInput): Promise<InstallKey> {
  const project = await readMeltanoProject(input.projectDir, { repoDir: input.repoDir });
  const lockFiles = await filesUnder(path.join(input.projectDir, 'plugins'));
  const projectFromRepo = path.relative(input.repoDir, input.projectDir);
  const files = [
    ...project.files,
    ...lockFiles.map((file) => toPosix(path.join(projectFromRepo, 'plugins', file))),
  ];
  const hash = createHash('sha256');
  hash.update(`meltano-version\0${input.meltanoVersion.trim()}\n`);
  for (const file of files) {
    const content = await readFile(path.join(input.repoDir, ...file.split('/')));
    hash.update(`${file}\0${createHash('sha256').update(content).digest('hex')}\n`);
  }
  return { key: hash.digest('hex').slice(0, 32), files };
}

/** Regular files below `dir` (relative, sorted, symbolic links not followed); [] when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(dir, relative), { withFileTypes: true });
    } catch (error) {
      if (relative === '' && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) {
        found.push(child);
        if (found.length > MAX_PLUGIN_FILES)
          throw new Error(`more than ${MAX_PLUGIN_FILES} files under plugins/`);
      }
    }
  };
  await walk('');
  return found;
}

const toPosix = (p: string) => p.split(path.sep).join('/');
