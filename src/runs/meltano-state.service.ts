import { Injectable } from '@nestjs/common';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';
import { notFound } from '../common/problem.js';

/**
 * Meltano's incremental state per deployment, kept in PostgreSQL. For a run
 * it is materialised as Meltano's local-filesystem state backend
 * (`<dir>/<state_id>/state.json`, passed as MELTANO_STATE_BACKEND_URI) and
 * read back afterwards, so state survives between runs on any worker.
 */
@Injectable()
export class MeltanoStateService {
  constructor(private readonly prisma: PrismaService) {}

  list(organizationId: string, deploymentId: string) {
    return this.prisma.meltanoState.findMany({
      where: { organizationId, deploymentId },
      orderBy: { stateId: 'asc' },
    });
  }

  async get(organizationId: string, deploymentId: string, stateId: string) {
    const row = await this.prisma.meltanoState.findFirst({
      where: { organizationId, deploymentId, stateId },
    });
    if (!row) throw notFound(`State "${stateId}"`);
    return row;
  }

  set(organizationId: string, deploymentId: string, stateId: string, value: Prisma.InputJsonValue) {
    return this.prisma.meltanoState.upsert({
      where: { deploymentId_stateId: { deploymentId, stateId } },
      create: { organizationId, deploymentId, stateId, value },
      update: { value },
    });
  }

  async clear(organizationId: string, deploymentId: string, stateId: string): Promise<void> {
    const { count } = await this.prisma.meltanoState.deleteMany({
      where: { organizationId, deploymentId, stateId },
    });
    if (!count) throw notFound(`State "${stateId}"`);
  }

  /** Writes the deployment's states where Meltano's filesystem backend reads them. */
  async materialise(organizationId: string, deploymentId: string, dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const row of await this.list(organizationId, deploymentId)) {
      const stateDir = path.join(dir, encodeURIComponent(row.stateId));
      await mkdir(stateDir, { recursive: true });
      await writeFile(path.join(stateDir, 'state.json'), JSON.stringify(row.value));
    }
  }

  /** Reads back what the run left in the filesystem backend and stores it. */
  async collect(organizationId: string, deploymentId: string, dir: string): Promise<number> {
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
        await this.set(
          organizationId,
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
