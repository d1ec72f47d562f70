/**
 * The SqlDriver of a Prisma Client on PostgreSQL (`@prisma/adapter-pg`) or MySQL/MariaDB
 * (`@prisma/adapter-mariadb`), for stores whose table Prisma only reaches through raw SQL (Better Auth's
 * `account`, ../better-auth/store.ts): every statement through
 * `$queryRawUnsafe`, each account transaction an interactive `$transaction` held open as a driver
 * connection (./held-transaction.ts). Prisma lends no connection outside a transaction, so there is no
 * one-statement sign-in (its begin must come after the pool's wait, which Prisma does not show), and the
 * leases are one statement each on any connection. The Auth.js Prisma store (../stores/prisma.ts) works
 * through the model delegates instead. Internal: not part of the package's exports.
 */
import type { SqlDatabase } from "../databases/sql-database.js"
import { unheld } from "../sql-leases.js"
import type { SqlDriver } from "../sql-store.js"
import type { SqlRunner } from "../statements.js"
import type { PrismaClientLike, PrismaRawClientLike } from "../stores/prisma.js"
import { heldTransaction } from "./held-transaction.js"

/** Prisma's own wait for a connection to begin on, when the store has no lock bound (its default is 2 s). */
const DEFAULT_MAX_WAIT_MS = 5_000
/**
 * Prisma ends an interactive transaction that runs longer than its timeout (default 5 s). Here it holds the
 * lock wait (bounded by the lock bound) and a few short statements (no provider call runs under it).
 */
const TRANSACTION_MARGIN_MS = 10_000

/**
 * Whether a raw query failed only in Prisma reading a `void` result column (`SELECT pg_advisory_xact_lock(...)`):
 * the statement itself ran, on the server, and its result has nothing to read.
 */
function voidResult(error: unknown): boolean {
  type Cause = { kind?: unknown; type?: unknown } | undefined
  const wrapped = error as { cause?: Cause; meta?: { driverAdapterError?: { cause?: Cause } } } | null
  const cause = wrapped?.meta?.driverAdapterError?.cause ?? wrapped?.cause
  return cause?.kind === "UnsupportedNativeDataType" && cause.type === "void"
}

/** Statements on a Prisma Client or its interactive-transaction client. @internal */
export function prismaRunner(target: PrismaRawClientLike): SqlRunner {
  return async (text, values) => {
    try {
      const rows = await target.$queryRawUnsafe<Record<string, unknown>[]>(text, ...values)
      return Array.isArray(rows) ? rows : []
    } catch (error) {
      if (voidResult(error)) return []
      throw error
    }
  }
}

/** The driver of a Prisma Client on `database` (PostgreSQL or MySQL/MariaDB). @internal */
export function prismaDriver(prisma: PrismaClientLike, database: SqlDatabase): SqlDriver {
  const run = prismaRunner(prisma)
  return {
    database,
    run,
    hold: unheld(run),
    signIn: null,
    acquire: (lock) =>
      heldTransaction<PrismaRawClientLike>(
        (callback) =>
          Promise.resolve(
            prisma.$transaction(callback, {
              isolationLevel: "ReadCommitted",
              maxWait: lock.timeoutMs ?? DEFAULT_MAX_WAIT_MS,
              timeout: (lock.timeoutMs ?? DEFAULT_MAX_WAIT_MS) + TRANSACTION_MARGIN_MS,
            }),
          ),
        prismaRunner,
      ),
  }
}
