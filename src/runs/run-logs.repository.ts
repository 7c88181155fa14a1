import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { RunLogLine } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';

export interface NewLogLine {
  seq: number;
  stream: string;
  timestamp: Date;
  line: string;
}

/** A run's log lines, in order by sequence number. */
@Injectable()
export class RunLogsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Lines after `afterSeq`, in order, at most `limit`. */
  lines(orgId: OrgId, runId: string, afterSeq: number, limit: number): Promise<RunLogLine[]> {
    return this.prisma.runLogLine.findMany({
      where: { organizationId: orgId, runId, seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take: limit,
    });
  }

  /** The sequence number of the run's last stored line (0 when none). */
  async lastSeq(orgId: OrgId, runId: string): Promise<number> {
    const last = await this.prisma.runLogLine.findFirst({
      where: { organizationId: orgId, runId },
      orderBy: { seq: 'desc' },
      select: { seq: true },
    });
    return last?.seq ?? 0;
  }

  /** When the run's last line not starting with `servicePrefix` (the pipeline's own output) was written. */
  async lastLineAtExcept(orgId: OrgId, runId: string, servicePrefix: string): Promise<Date | null> {
    const last = await this.prisma.runLogLine.findFirst({
      where: { organizationId: orgId, runId, NOT: { line: { startsWith: servicePrefix } } },
      orderBy: { seq: 'desc' },
      select: { timestamp: true },
    });
    return last?.timestamp ?? null;
  }

  /** Stores a batch; a line whose sequence number is already stored is skipped. */
  async append(orgId: OrgId, runId: string, lines: NewLogLine[]): Promise<void> {
    await this.prisma.runLogLine.createMany({
      data: lines.map((l) => ({ ...l, organizationId: orgId, runId })),
      skipDuplicates: true,
    });
  }
}
