import { Injectable } from '@nestjs/common';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Prisma } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';
import { MeltanoStateRepository } from './meltano-state.repository.js';

/** Meltano's local filesystem state backend: `<dir>/<state id>/state.json`, the id verbatim (POSIX). */
const STATE_FILE = 'state.json';

/** A state id Meltano's filesystem backend can hold as one directory name. */
export function isFilesystemStateId(stateId: string): boolean {
  return stateId !== '' && stateId !== '.' && stateId !== '..' && !/[/\0]/.test(stateId);
}

/**
 * The worker's side of Meltano's incremental state, kept in PostgreSQL: for
 * a local run it is materialised as Meltano's local-filesystem state backend
 * (`<dir>/<state_id>/state.json`, as `_LocalFilesystemStateStoreManager`
 * lays it out, passed as MELTANO_STATE_BACKEND_URI) and what the pipeline
 * wrote is read back afterwards, so state survives between runs on any worker.
 */
@Injectable()
export class MeltanoStateService {
  constructor(private readonly states: MeltanoStateRepository) {}

  /** Writes the deployment's states where Meltano's filesystem backend reads them; returns what was written (to tell changes apart later). */
  async materialise(orgId: OrgId, deploymentId: string, dir: string): Promise<Map<string, string>> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const written = new Map<string, string>();
    for (const row of await this.states.list(orgId, deploymentId)) {
      if (!isFilesystemStateId(row.stateId)) continue;
      const stateDir = path.join(dir, row.stateId);
      await mkdir(stateDir, { recursive: true });
      const text = JSON.stringify(row.value);
      await writeFile(path.join(stateDir, STATE_FILE), text);
      written.set(row.stateId, text);
    }
    return written;
  }

  /**
   * Reads back every state the run wrote (new, or changed from `before`) and
   * stores it; returns the ids stored. Partial state (a failed run) is kept as
   * Meltano left it.
   */
  async collect(
    orgId: OrgId,
    deploymentId: string,
    dir: string,
    before: Map<string, string> = new Map(),
  ): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return [];
    }
    const stored: string[] = [];
    for (const entry of entries.sort()) {
      try {
        const text = await readFile(path.join(dir, entry, STATE_FILE), 'utf8');
        const value = JSON.parse(text) as Prisma.InputJsonValue;
        if (before.get(entry) === JSON.stringify(value)) continue;
        await this.states.set(orgId, deploymentId, entry, value);
        stored.push(entry);
      } catch {
        // Not a state folder, or a state Meltano was still writing: keep the previous value.
      }
    }
    return stored;
  }
}
