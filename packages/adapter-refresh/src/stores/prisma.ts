/**
 * AccountStore for a Prisma Client on PostgreSQL, MySQL/MariaDB or SQLite, matching the schemas documented for
 * `@auth/prisma-adapter`: models `Account` (with `@@id([provider, providerAccountId])`, compound key
 * name `provider_providerAccountId`) and `User`, reached through the client's `account` and `user`
 * delegates like the adapter does. Going through the delegates, rather than SQL, keeps `@map` /
 * `@@map` column and table names and `@updatedAt` working. The one exception is the one-statement sign-in
 * (`updateOwnTokens`: PostgreSQL, MariaDB, SQLite on better-sqlite3), which is raw SQL on names read from the
 * client's schema text, and is left out whenever they cannot be read with certainty.
 *
 * This module does not import `@prisma/client`: the client is typed structurally and the model
 * delegates are looked up by name at run time. It holds the options and the transaction; the concerns are
 * modules of their own: the delegate path (prisma-delegates.ts), each database's lock (prisma-locks.ts),
 * the account table as raw SQL names it (prisma-account-table.ts, over prisma-schema.ts), the raw sign-in
 * (prisma-sign-in.ts) and the SQLite one-connection gate (prisma-gate.ts). Prisma's `$transaction` runs
 * acquire, begin, commit and rollback itself, so this store does not use the shared SQL store's sequence.
 */
import { AbandonedWait } from "../bounded-wait.js"
import type {
  AccountKey,
  AccountLockOptions,
  AccountReadOptions,
  AccountScanPage,
  AccountStore,
  LockedAccount,
  ReauthMark,
  ReauthMarkPage,
  StoredAccountRow,
} from "../store.js"
import { InvalidOptionsError, UnsupportedDatabaseError } from "../errors.js"
import { sqlite } from "../databases/sqlite.js"
import { DEFAULT_LEASE_TABLE, sqlLeases, unheld } from "../sql-leases.js"
import { retryFirstInsertRace } from "../statements.js"
import { checkIdentifier, checkMilliseconds, scopedLockedAccount, typedLockTimeouts } from "../store-support.js"
import type { PrismaClientInternals } from "./prisma-account-table.js"
import {
  ACCOUNT_METHODS,
  delegate,
  onModel,
  prismaFindAccounts,
  prismaListReauthMarks,
  prismaLockedAccount,
  prismaReadKey,
  prismaScanAccounts,
  USER_METHODS,
  type AccountDelegateLike,
  type PrismaModels,
  type UserDelegateLike,
} from "./prisma-delegates.js"
import { gatedLeaseConnection, oneConnectionGateOf } from "./prisma-gate.js"
import { PRISMA_ACCOUNT_LOCKS } from "./prisma-locks.js"
import { prismaUpdateOwnTokens } from "./prisma-sign-in.js"

export { prismaAccountTable, type PrismaAccountTable } from "./prisma-account-table.js"

// ---------------------------------------------------------------------------------------------------
// Structural types of the Prisma objects this store uses
// ---------------------------------------------------------------------------------------------------

/** Raw-query methods of a Prisma Client and of its interactive-transaction client. */
export interface PrismaRawClientLike {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>
}

/** The options of an interactive `$transaction` this store sets. */
export interface PrismaTransactionOptionsLike {
  maxWait?: number
  timeout?: number
  /**
   * "ReadCommitted" is passed where the database has it (PostgreSQL, MySQL); Prisma's SQLite adapters
   * refuse every level but their own ("Serializable", which the SQLite client's types allow only).
   */
  isolationLevel?: "ReadCommitted" | "Serializable"
}

/**
 * The part of a Prisma Client this store uses; any generated `PrismaClient` (also one extended with
 * `$extends`) satisfies it. The `account` / `user` delegates are looked up by name at run time.
 */
export interface PrismaClientLike extends PrismaRawClientLike {
  $transaction<R>(fn: (tx: PrismaRawClientLike) => Promise<R>, options?: PrismaTransactionOptionsLike): PromiseLike<R>
}

/** The databases this store can lock accounts on. */
export type PrismaDatabase = "postgres" | "mysql" | "sqlite"

/** Options of {@link prismaAccountStore}: where the account and user models are, and the time bounds. */
export interface PrismaAccountStoreOptions {
  /**
   * The database the client talks to. Default: read from the client (the provider of the schema it was
   * generated from, which Prisma checks against the driver adapter's). Set it when that cannot be read
   * (a client wrapped in something else); `"mysql"` covers MariaDB.
   */
  database?: PrismaDatabase
  /**
   * Name of the client property of the account model's delegate: the model name with a lower-case first
   * letter (model `Account` -> `"account"`, as `@auth/prisma-adapter` uses). Default `"account"`.
   */
  accountModel?: string
  /** Name of the client property of the user model's delegate. Default `"user"`. */
  userModel?: string
  /**
   * Timeout of the interactive transaction, in milliseconds: it covers waiting for the account's lock
   * and everything run under it (a token refresh includes an HTTP request to the provider). When
   * exceeded, Prisma rolls the transaction back and the call fails. Default 10 000.
   */
  transactionTimeoutMs?: number
  /** How long to wait for a connection to start the transaction, in milliseconds. Default 5 000. */
  maxWaitMs?: number
  /**
   * The lease table of lease mode (`refresh.coordination: "lease"`): the `@@map` name of the schema's lease
   * model. Default `"authjs_refresh_lease"`; the README's "Lease mode: the migration" has the model. Unused in
   * lock mode. Not on `@prisma/adapter-libsql` (a statement failing on the file's lock stays in progress).
   */
  leaseTable?: string
  /**
   * Upper bound, in milliseconds, on how long to wait for the account's lock: a waiter then fails fast
   * instead of at the transaction timeout. PostgreSQL: `SET LOCAL lock_timeout` (SQLSTATE 55P03, and it
   * bounds every other lock in the transaction too); MySQL/MariaDB: the session's `innodb_lock_wait_timeout`
   * while the lock is taken, rounded up to whole seconds (error 1205); SQLite: the connection's busy timeout
   * while the lock is taken (SQLITE_BUSY). Default: no bound beyond `transactionTimeoutMs` (PostgreSQL),
   * the server's `innodb_lock_wait_timeout` (MySQL), the driver's busy timeout (SQLite).
   */
  lockTimeoutMs?: number
}

// ---------------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------------

/** Whether `value` is a Prisma Client (it has `$transaction`, `$executeRawUnsafe` and `$queryRawUnsafe`). */
export function isPrismaClient(value: unknown): value is PrismaClientLike {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return ["$transaction", "$executeRawUnsafe", "$queryRawUnsafe"].every((name) => typeof record[name] === "function")
}

/**
 * The database a Prisma Client talks to, read structurally (no Prisma import): every Prisma Client since
 * 2.x keeps the provider of the schema it was generated from as `_activeProvider` ("postgresql",
 * "cockroachdb", "mysql", "sqlite", "sqlserver", "mongodb"), also through `$extends`, and Prisma 7 refuses
 * a driver adapter whose `provider` differs from it. Prisma 7's `_engineConfig.adapter.provider`
 * ("postgres", "mysql", "sqlite") is the second source. `undefined` when neither can be read.
 */
export function prismaProviderOf(prisma: object): string | undefined {
  const record = prisma as { _activeProvider?: unknown; _engineConfig?: { adapter?: { provider?: unknown } } }
  const provider = record._activeProvider ?? record._engineConfig?.adapter?.provider
  return typeof provider === "string" ? provider : undefined
}

const DATABASE_OF_PROVIDER: Record<string, PrismaDatabase> = {
  postgresql: "postgres",
  postgres: "postgres",
  mysql: "mysql",
  sqlite: "sqlite",
}
const DATABASES: readonly PrismaDatabase[] = ["postgres", "mysql", "sqlite"]

function prismaDatabase(prisma: object, option: PrismaDatabase | undefined): PrismaDatabase {
  if (option !== undefined) {
    if (!DATABASES.includes(option)) {
      throw new InvalidOptionsError(
        "database",
        `prismaAccountStore(prisma, { database }): database must ` +
          `be one of ${DATABASES.map((d) => `"${d}"`).join(", ")}.`,
      )
    }
    return option
  }
  const provider = prismaProviderOf(prisma)
  const database = provider === undefined ? undefined : DATABASE_OF_PROVIDER[provider]
  if (database !== undefined) return database
  throw new UnsupportedDatabaseError(
    provider === undefined
      ? `prismaAccountStore(prisma): cannot tell which database this Prisma Client talks ` +
          `to (it has no _activeProvider); pass { database: "postgres" | "mysql" | "sqlite" ` +
          `}, e.g. withTokenSync(adapter, prismaAccountStore(prisma, { database: "mysql" })).`
      : `prismaAccountStore(prisma): the Prisma Client's provider is "${provider}"; this ` +
          `store locks accounts on PostgreSQL, MySQL/MariaDB and SQLite only. Pass { database ` +
          `} only if the client really talks to one of them, or pass your own AccountStore.`,
  )
}

// ---------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------

const positiveInteger = (value: number | undefined, fallback: number | undefined, option: string): number | undefined =>
  checkMilliseconds(value, fallback, "prismaAccountStore", option)

/**
 * An AccountStore over a Prisma Client and the `@auth/prisma-adapter` schema of its database.
 *
 * `withAccountLock` runs `work` in an interactive `$transaction` (READ COMMITTED on PostgreSQL and MySQL:
 * each statement after the lock sees what the previous holder committed) whose first statements take
 * the account's lock (PRISMA_ACCOUNT_LOCKS). Prisma commits when `work` resolves and rolls back when it
 * throws; the same error is rethrown.
 *
 * @param prisma The same client given to `PrismaAdapter(prisma)`.
 * @returns The store to pass as `withTokenSync(adapter, store)` or `reencryptAccounts(store, ...)`.
 * @throws {@link UnsupportedDatabaseError} when the client's database is not PostgreSQL, MySQL/MariaDB or SQLite.
 * @throws {@link InvalidOptionsError} for an option that cannot work (a lock bound that is not a positive integer).
 * @throws {@link AccountSchemaError} from the first operation, when the account model lacks a column it writes.
 * @example
 * ```ts
 * const adapter = withTokenSync(PrismaAdapter(prisma), prismaAccountStore(prisma, { transactionTimeoutMs: 20_000 }))
 * ```
 */
export function prismaAccountStore(prisma: PrismaClientLike, options: PrismaAccountStoreOptions = {}): AccountStore {
  const name = "prisma"
  if (!isPrismaClient(prisma)) throw new TypeError("prismaAccountStore: expected a Prisma Client.")
  const accountModel = checkIdentifier(options.accountModel ?? "account", "accountModel")
  const userModel = checkIdentifier(options.userModel ?? "user", "userModel")
  const accountOption = "prismaAccountStore(prisma, { accountModel })"
  const userOption = "prismaAccountStore(prisma, { userModel })"
  const models: PrismaModels = { account: accountModel, user: userModel, accountOption, userOption }
  // Fail at construction, not at the first sign-in, when the delegates are not there.
  delegate<AccountDelegateLike>(prisma, accountModel, ACCOUNT_METHODS, "accountModel")
  delegate<UserDelegateLike>(prisma, userModel, USER_METHODS, "userModel")
  const lock = PRISMA_ACCOUNT_LOCKS[prismaDatabase(prisma, options.database)]
  const transactionOptions: PrismaTransactionOptionsLike = {
    ...(lock.readCommitted ? { isolationLevel: "ReadCommitted" as const } : {}),
    timeout: positiveInteger(options.transactionTimeoutMs, 10_000, "transactionTimeoutMs"),
    maxWait: positiveInteger(options.maxWaitMs, 5_000, "maxWaitMs"),
  }
  const lockTimeoutMs = positiveInteger(options.lockTimeoutMs, undefined, "lockTimeoutMs")
  const oneStatement = prismaUpdateOwnTokens(prisma, accountModel, accountOption)
  // SQLite: Prisma's adapter runs every query on one connection, which a locked transaction holds to its
  // end, and runs a statement sent meanwhile inside that transaction. The gate keeps this client's
  // sign-in statements and locked transactions apart (OneConnectionGate), for every store on the client.
  const gate = lock.database === sqlite ? oneConnectionGateOf(prisma) : undefined
  const updateOwnTokens: AccountStore["updateOwnTokens"] =
    oneStatement && gate
      ? (key, userId, tokens, begin) => gate.statement(() => oneStatement(key, userId, tokens, begin), [])
      : oneStatement
  const inTransaction = <T>(run: () => Promise<T>): Promise<T> => (gate ? gate.transaction(run) : run())

  const onLibsql = (prisma as PrismaClientInternals)._engineConfig?.adapter?.adapterName === "@prisma/adapter-libsql"

  const store: AccountStore = {
    name,
    linkAccountResult: "inserted-row",
    ...(updateOwnTokens ? { updateOwnTokens } : {}),
    ...(!onLibsql && {
      leases: sqlLeases({
        database: lock.database,
        table: options.leaseTable ?? DEFAULT_LEASE_TABLE,
        store: name,
        option: "prismaAccountStore(prisma, { leaseTable })",
        accounts: { readAll: (key: AccountKey) => prismaReadKey(prisma, models, key) },
        hold: gate
          ? gatedLeaseConnection(prisma, gate, transactionOptions)
          : unheld(async (text, values) => prisma.$queryRawUnsafe(text, ...values)),
      }),
    }),

    async withAccountLock<T>(
      key: AccountKey,
      work: (account: LockedAccount) => Promise<T>,
      lockOptions?: AccountLockOptions,
    ): Promise<T> {
      const lockTimeout = positiveInteger(lockOptions?.lockTimeoutMs, lockTimeoutMs, "lockTimeoutMs")
      const callTimeout = positiveInteger(lockOptions?.transactionTimeoutMs, undefined, "transactionTimeoutMs")
      // Per-call bounds override the store's defaults (AccountLockOptions). The caller's transaction
      // timeout must cover the lock wait plus the work under it (a refresh request), or Prisma cuts the
      // transaction off mid-refresh. Waiting for a pooled connection is a wait like the lock's (under
      // contention every waiter holds a connection), so it may last as long as the lock wait.
      const callOptions: PrismaTransactionOptionsLike = {
        ...transactionOptions,
        ...(lockOptions?.lockTimeoutMs !== undefined
          ? { maxWait: Math.max(transactionOptions.maxWait ?? 0, lockOptions.lockTimeoutMs) }
          : {}),
        ...(callTimeout !== undefined ? { timeout: callTimeout } : {}),
      }
      // A concurrent first insert of the key (MySQL: no row to lock yet) is answered by running it once more.
      return retryFirstInsertRace(lock.database, () =>
        inTransaction(() =>
          Promise.resolve(
            prisma.$transaction(async (tx) => {
              // The caller gave up waiting while Prisma found a connection: no lock statement, no read.
              if (lockOptions?.signal?.aborted) throw new AbandonedWait()
              const accounts = delegate<AccountDelegateLike>(tx, accountModel, ACCOUNT_METHODS, "accountModel")
              await onModel(() => lock.take(tx, accounts, key, lockTimeout), accountModel, accountOption)

              const scoped = scopedLockedAccount(prismaLockedAccount(tx, accounts, key, models), "prismaAccountStore")
              try {
                return await work(scoped.account)
              } finally {
                scoped.close()
              }
            }, callOptions),
          ),
        ),
      )
    },

    async findAccounts(
      userId: string,
      provider: string,
      readOptions?: AccountReadOptions,
    ): Promise<StoredAccountRow[]> {
      // Prisma's wait for a connection is its own; a caller that already left gets nothing sent.
      if (readOptions?.signal?.aborted) throw new AbandonedWait()
      return prismaFindAccounts(prisma, models, userId, provider)
    },

    async scanAccounts(page: AccountScanPage): Promise<StoredAccountRow[]> {
      return prismaScanAccounts(prisma, models, page)
    },

    async listReauthMarks(page: ReauthMarkPage): Promise<ReauthMark[]> {
      return prismaListReauthMarks(prisma, models, page)
    },
  }
  return typedLockTimeouts(store, lock.database)
}
