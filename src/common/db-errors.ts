import { Prisma } from '../generated/prisma/client.js';

/** A unique index refused the write (a name taken, a tick already run, a delivery already seen). */
export const isUniqueViolation = (err: unknown): boolean =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
