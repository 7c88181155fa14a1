import type { Prisma } from '../generated/prisma/client.js';

/**
 * An open database transaction, opaque outside repositories: services pass
 * it from `Transactions.run` to repository methods so that several writes
 * (a change and its audit event, say) commit together, but cannot query
 * through it themselves.
 */
declare const txBrand: unique symbol;
export type Tx = { readonly [txBrand]: 'Tx' };

/** Repositories only: the Prisma client of a transaction. */
export function txClient(tx: Tx): Prisma.TransactionClient {
  return tx as unknown as Prisma.TransactionClient;
}

export function asTx(client: Prisma.TransactionClient): Tx {
  return client as unknown as Tx;
}
