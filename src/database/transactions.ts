import { Injectable } from '@nestjs/common';
import { PrismaService } from './prisma.service.js';
import { asTx, type Tx } from './tx.js';

/** Runs work in one database transaction; repositories take the `Tx` it hands out. */
@Injectable()
export class Transactions {
  constructor(private readonly prisma: PrismaService) {}

  run<T>(
    work: (tx: Tx) => Promise<T>,
    options?: { timeoutMs?: number; isolationLevel?: 'Serializable' },
  ): Promise<T> {
    return this.prisma.$transaction((client) => work(asTx(client)), {
      ...(options?.timeoutMs ? { timeout: options.timeoutMs } : {}),
      ...(options?.isolationLevel ? { isolationLevel: options.isolationLevel } : {}),
    });
  }
}
