import { Injectable } from '@nestjs/common';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Prisma } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';
import { MeltanoStateRepository } from './meltano-state.repository.js';

/**
 * The worker's side of Meltano's incremental state, kept in PostgreSQL: for
 * a run it is materialised as Meltano's local-filesystem state backend
 * (`<dir>/<state_id>/state.json`, passed as MELTANO_STATE_BACKEND_URI) and
 * read back afterwards, so state survives between runs on any worker.
 */
@Injectable()
export class MeltanoStateService {
  constructor(private readonly states: MeltanoStateRepository) {}

  /** Writes the deployment's states where Meltano's filesystem backend reads them. */
  async materialise(orgId: OrgId, deploymentId: string, dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const row of await this.states.list(orgId, deploymentId)) {
      const stateDir = path.join(dir, encodeURIComponent(row.stateId));
      await mkdir(stateDir, { recursive: true });
      await writeFile(path.join(stateDir, 'state.json'), JSON.stringify(row.value));
    }
  }

  /** Reads back what the run left in the filesystem backend and stores it. */
  async collect(orgId: OrgId, deploymentId: string, dir: string): Promise<number> {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return 0;
    }
    let stored = 0;
    for (const entry of entries) {
      try {
        const text = await readFile(path.join(dir, entry, 'state.json'), 'utf8');
        await this.states.set(
          orgId,
          deploymentId,
          decodeURIComponent(entry),
          JSON.parse(text) as Prisma.InputJsonValue,
        );
        stored++;
      } catch {
        // Not a state folder, or a state Meltano was still writing: keep the previous value.
      }
    }
    return stored;
  }
}
