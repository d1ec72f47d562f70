/**
 * Prisma's SQLite adapters run every query on one connection, which a locked transaction holds to its end,
 * and run a statement sent meanwhile inside that transaction: the gate (OneConnectionGate) keeps a client's
 * one-statement sign-ins and its transactions apart, for every store made on that client. Internal: not
 * part of the package's exports.
 */
import { OneConnectionGate } from "../store-support.js"
import type { PrismaClientInternals } from "./prisma-account-table.js"
import type { HeldConnection, SqlRunner } from "../statements.js"
import type { PrismaClientLike, PrismaTransactionOptionsLike } from "./prisma.js"

/**
 * One gate per client: stores made on the same client (or on its `$extends` copies, which share its engine config)
 * share it.
 */
const GATES = new WeakMap<object, OneConnectionGate>()

/** The gate of `prisma`'s one connection (Prisma's SQLite adapters). @internal */
export function oneConnectionGateOf(prisma: PrismaClientLike): OneConnectionGate {
  const engineConfig = (prisma as PrismaClientInternals)._engineConfig
  const owner: object = typeof engineConfig === "object" && engineConfig !== null ? engineConfig : prisma
  let gate = GATES.get(owner)
  if (!gate) GATES.set(owner, (gate = new OneConnectionGate()))
  return gate
}

/**
 * A lease operation's connection on a gated client: Prisma's one connection runs a statement sent during
 * a transaction inside it, so each lease operation is a short transaction of its own, kept apart from the
 * one-statement sign-ins by the gate. @internal
 */
export function gatedLeaseConnection(
  prisma: PrismaClientLike,
  gate: OneConnectionGate,
  transactionOptions: PrismaTransactionOptionsLike,
): () => Promise<HeldConnection> {
  return () =>
    new Promise((resolve, reject) => {
      gate
        .transaction(() =>
          Promise.resolve(
            prisma.$transaction(async (tx) => {
              const run: SqlRunner = async (text, values) => tx.$queryRawUnsafe(text, ...values)
              await new Promise<void>((release) => resolve({ run, release }))
            }, transactionOptions),
          ),
        )
        .catch(reject)
    })
}
