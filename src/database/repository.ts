import type { Prisma } from '../generated/prisma/client.js';
import type { PrismaService } from './prisma.service.js';
import { txClient, type Tx } from './tx.js';

/** Repositories only: the client to run a query on (the transaction's, when one is given). */
export function clientOf(prisma: PrismaService, tx?: Tx): Prisma.TransactionClient {
  return tx ? txClient(tx) : prisma;
}
