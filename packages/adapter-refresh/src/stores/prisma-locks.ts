/**
 * How the Prisma store takes an account's lock as the first statements of its interactive transaction, per
 * database (which lock, its wait bound and its errors come from databases/*). Internal: not part of the
 * package's exports.
 */
import { mysql, mysqlLockWaitBound } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { LockTarget, SqlDatabase, SqlStatement } from "../databases/sql-database.js"
import { busyTimeoutOf, sqlite, sqliteBusyTimeout, SQLITE_READ_BUSY_TIMEOUT } from "../databases/sqlite.js"
import type { AccountKey } from "../store.js"
import type { AccountDelegateLike } from "./prisma-delegates.js"
import type { PrismaDatabase, PrismaRawClientLike } from "./prisma.js"

/**
 * How the account's lock is taken in the interactive transaction: the first statements of the
 * transaction, before `work` runs, per database (databases/*: which lock, its wait bound, its errors).
 * Prisma hides table names behind the delegates (`@@map`), so where the database's lock is a statement
 * on the accounts table, the same lock is taken through the account delegate instead. @internal
 */
export interface PrismaAccountLock {
  readonly database: SqlDatabase
  /** Prisma's SQLite adapters refuse any isolation level but their own (SERIALIZABLE). */
  readonly readCommitted: boolean
  take(
    tx: PrismaRawClientLike,
    accounts: AccountDelegateLike,
    key: AccountKey,
    lockTimeoutMs: number | undefined,
  ): Promise<void>
}

const runAll = async (tx: PrismaRawClientLike, statements: readonly SqlStatement[]): Promise<void> => {
  for (const statement of statements) await tx.$executeRawUnsafe(statement.text, ...statement.values)
}

/** The advisory lock names no table. */
const NO_TABLE: LockTarget = { accounts: "", provider: "", providerAccountId: "" }

/** Each database's account lock, as Prisma takes it. @internal */
export const PRISMA_ACCOUNT_LOCKS: Record<PrismaDatabase, PrismaAccountLock> = {
  // The transaction-scoped advisory lock on the hashed key that every PostgreSQL store takes, its wait
  // bound in the same statement (databases/postgres.ts).
  postgres: {
    database: postgres,
    readCommitted: true,
    // $executeRaw, not $queryRaw: pg_advisory_xact_lock returns void, which Prisma cannot deserialize.
    take: (tx, _accounts, key, lockTimeoutMs) => runAll(tx, postgres.lockStatements(key, NO_TABLE, lockTimeoutMs).take),
  },
  // InnoDB's exclusive row lock on the key's row (databases/mysql.ts), taken by an UPDATE of the key
  // through the delegate rather than `SELECT ... FOR UPDATE`: it sets `provider` to itself, and Prisma
  // adds `@updatedAt`, so taking the lock moves `updatedAt`. A key with no row yet is left to the primary
  // key and retryFirstInsertRace.
  mysql: {
    database: mysql,
    readCommitted: true,
    async take(tx, accounts, key, lockTimeoutMs) {
      const bound = mysqlLockWaitBound(lockTimeoutMs)
      await runAll(tx, bound.take)
      try {
        await accounts.updateMany({
          where: { provider: key.provider, providerAccountId: key.providerAccountId },
          data: { provider: key.provider },
        })
      } finally {
        // The bound is for the account's lock only; the session's own value back before anything else runs.
        await runAll(tx, bound.restore)
      }
    },
  },
  // The database file's write lock (databases/sqlite.ts). Prisma begins with a plain, deferred BEGIN, so
  // the first statement is a write that matches no row: it takes the write lock at once, waiting up to
  // the busy timeout, and changes nothing (see databases/sqlite.ts).
  sqlite: {
    database: sqlite,
    readCommitted: false,
    async take(tx, accounts, key, lockTimeoutMs) {
      let previous: number | undefined
      if (lockTimeoutMs !== undefined) {
        const [current] = await tx.$queryRawUnsafe<Record<string, unknown>[]>(SQLITE_READ_BUSY_TIMEOUT)
        previous = busyTimeoutOf(current)
        await tx.$executeRawUnsafe(sqliteBusyTimeout(lockTimeoutMs))
      }
      try {
        await accounts.updateMany({
          where: { provider: key.provider, NOT: { provider: key.provider } },
          data: { provider: key.provider },
        })
      } finally {
        // One connection per client (the adapter's): put its own busy timeout back for everything else.
        if (previous !== undefined) await tx.$executeRawUnsafe(sqliteBusyTimeout(previous))
      }
    },
  },
}
