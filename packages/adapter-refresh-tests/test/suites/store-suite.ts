/**
 * The behaviour every AccountStore of this library must have, run against a real database with the
 * official adapter's documented schema: PostgreSQL by default, or the database a cell names in
 * `database` (MariaDB, SQLite). Each test/cells/<cell>/store.test.ts calls `describeStore`.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import {
  AccountLinkedToAnotherUserError,
  AccountStoreError,
  AccountSchemaError,
  AmbiguousAccountOwnerError,
  withTokenSync,
  type AccountKey,
  type AccountRow,
  type AccountStore,
  type LockedAccount,
  type TokenSyncDatabase,
} from "authjs-adapter-refresh"
import { ADVISORY_LOCK_KEY_SQL } from "authjs-adapter-refresh/internal"
import { inspect } from "node:util"
import pg from "pg"
import {
  applySchema,
  createFixture,
  SCHEMA_TABLES,
  type AnyStoreOptions,
  type DatabaseFixture,
  type PgCell,
  type FixtureOptions,
} from "../../src/fixtures/databases.js"
import { testDatabase } from "../../src/harness/postgres.js"

/** The extra token column the tests write: in schema.prisma, and added by the suite to the other schemas. */
export const EXTRA_COLUMN = "refresh_token_expires_in"

export interface StoreSuiteContext {
  cell: PgCell
  /** Database URL of this test file's database (schema applied, extra column added). */
  url(): string
  /** Two fixtures on separate pools/clients. */
  a(): DatabaseFixture<unknown>
  b(): DatabaseFixture<unknown>
  /** Another fixture with its own store options; closed after the file. */
  fixture(options: FixtureOptions<AnyStoreOptions>): Promise<DatabaseFixture<unknown>>
  /** A plain pg Pool for inspection (pg_locks) and raw statements. */
  inspect(): pg.Pool
}

let counter = 0
/** A key no other test uses. */
export function freshKey(label = "key"): AccountKey {
  counter += 1
  return { provider: "test-oidc", providerAccountId: `${label}-${counter}-${Date.now().toString(36)}` }
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `count` sessions of this database wait for an advisory lock. */
export async function waitForAdvisoryWaiters(pool: pg.Pool, count: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
       WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`,
    )
    if ((rows[0]?.n ?? 0) >= count) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} advisory-lock waiter(s)`)
    await sleep(20)
  }
}

/**
 * Holds `key`'s lock through `store` while `body` runs (work may first do something under the lock), and
 * always lets go afterwards, so that a failing assertion cannot leave a transaction open.
 */
export async function whileHolding<T>(
  store: AccountStore,
  key: AccountKey,
  body: () => Promise<T>,
  underLock: (account: LockedAccount) => Promise<void> = async () => {},
): Promise<T> {
  const inside = deferred()
  const release = deferred()
  const holder = store.withAccountLock(key, async (account) => {
    await underLock(account)
    inside.resolve()
    await release.promise
  })
  await Promise.race([inside.promise, holder])
  try {
    return await body()
  } finally {
    release.resolve()
    await holder
  }
}

function row(key: AccountKey, userId: string, tokens: AccountRow["tokens"] = {}): AccountRow {
  return { ...key, userId, type: "oidc", tokens }
}

/** A database other than PostgreSQL for a cell: how the suite gets, fills, changes and watches it. */
export interface StoreSuiteDatabase {
  name: "mysql" | "sqlite"
  /** A fresh database (url as the cell's fixtures take it). */
  create(prefix: string): Promise<{ url: string; drop(): Promise<void> }>
  applySchema(url: string): Promise<void>
  /** Runs SQL with the database's own driver. */
  exec(url: string, sql: string): Promise<void>
  fixture(url: string, options: FixtureOptions<AnyStoreOptions>): Promise<DatabaseFixture<unknown>>
  /**
   * "row": the lock is a row lock, so a key is only lockable once it has a row (a first insert is left to
   * the unique key); "database": one writer for the whole database (SQLite), so two stores in ONE process
   * cannot contend (better-sqlite3 waits synchronously: the holder could not run) and keys are not independent.
   */
  lockKind: "row" | "database"
  /** Resolves once `count` transactions of the database wait for a lock (when the database shows it). */
  waitForLockWaiters?(url: string, count: number): Promise<void>
  /** The statements that break the schema: drop the accounts table; drop one of its columns. */
  dropAccountsTable: string
  dropAccountsColumn(column: string): string
}

export interface StoreSuiteSpec {
  /** The client, named by its PostgreSQL cell; with `database`, that client on another database. */
  cell: PgCell
  storeName: string
  /** How the driver returns `expires_at`: a string for bigint (node-postgres), a number for Prisma's Int. */
  expiresAtAs: "string" | "number"
  /** Whether the schema allows several rows for one key (no unique constraint). */
  allowsDuplicates: boolean
  /** Whether the schema's expires_at can hold a millisecond value (a bigint column). Default: all but Prisma's. */
  expiresAtHoldsMilliseconds?: boolean
  /** Another database than PostgreSQL (default: PostgreSQL with the cell's schema). */
  database?: StoreSuiteDatabase
  /** More tests with the same context. */
  extra?: (ctx: StoreSuiteContext) => void
}

export function describeStore(spec: StoreSuiteSpec): void {
  const { cell } = spec
  const other = spec.database
  let database: { url: string; drop(): Promise<void> }
  let fixtureA: DatabaseFixture<unknown>
  let fixtureB: DatabaseFixture<unknown>
  let inspectPool: pg.Pool
  const opened: DatabaseFixture<unknown>[] = []

  const ctx: StoreSuiteContext = {
    cell,
    url: () => database.url,
    a: () => fixtureA,
    b: () => fixtureB,
    inspect: () => inspectPool,
    async fixture(options) {
      const fixture = other
        ? await other.fixture(database.url, options)
        : await createFixture(cell, database.url, options)
      opened.push(fixture)
      return fixture
    },
  }

  beforeAll(async () => {
    if (other) {
      database = await other.create(`stores ${cell} ${other.name}`)
      await other.applySchema(database.url)
    } else {
      database = await testDatabase(`stores ${cell}`)
      await applySchema(cell, database.url)
      inspectPool = new pg.Pool({ connectionString: database.url })
      inspectPool.on("error", () => {})
    }
    if (cell !== "prisma") {
      await inspectPool.query(`ALTER TABLE ${SCHEMA_TABLES[cell].accounts} ADD COLUMN "${EXTRA_COLUMN}" integer`)
    }
    fixtureA = await ctx.fixture({})
    fixtureB = await ctx.fixture({})
  })

  // A row-locking database cannot lock a key without a row (a first insert is left to the unique key):
  // the tests that hold a key's lock give it a committed row first there.
  const lockable = async (key: AccountKey): Promise<void> => {
    if (other?.lockKind !== "row") return
    const owner = await fixtureA.insertUser(`${key.providerAccountId}-owner@example.test`)
    await fixtureA.store.withAccountLock(key, (account) => account.insert(row(key, owner, { access_token: "seed" })))
  }
  // SQLite: a second store in this process would wait synchronously for the holder, which then cannot
  // run; contention in one process goes through one client (Prisma's own queue), across processes the
  // kit's storms show the file lock.
  const contender = (): DatabaseFixture<unknown> => (other?.lockKind === "database" ? fixtureA : fixtureB)
  /** Whether the store reported a lock wait that ran out (its typed value), as the core reads a store's error. */
  const isLockTimeout = (error: unknown): boolean => error instanceof AccountStoreError && error.lockTimeout

  afterAll(async () => {
    await Promise.all(opened.map((fixture) => fixture.close()))
    await inspectPool?.end()
    await database?.drop()
  })

  // Every store these suites run offers the one-statement sign-in: every PostgreSQL store (Prisma's through
  // $queryRawUnsafe on the table and columns read from the client's schema text), and Prisma on MariaDB
  // and on SQLite (better-sqlite3). The tests of the statement below are PostgreSQL's; the kit's section
  // (b2) runs on every cell that offers it.
  const postgresOneStatement = !other

  describe(`${cell} AccountStore`, () => {
    test(`is named "${spec.storeName}"`, () => {
      expect(fixtureA.store.name).toBe(spec.storeName)
    })

    test("insert, read and update round trip, extra token column included", async () => {
      const key = freshKey("roundtrip")
      const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      const store: AccountStore = fixtureA.store

      await store.withAccountLock(key, async (account) => {
        expect(await account.readAll()).toEqual([])
        await account.insert(
          row(key, userId, {
            access_token: "at-1",
            refresh_token: "rt-1",
            expires_at: 1_700_000_000,
            id_token: "idt-1",
            scope: "openid offline_access",
            token_type: "bearer",
            session_state: null,
            [EXTRA_COLUMN]: 3600,
          }),
        )
        const stored = (await account.readAll())[0]
        expect(stored).toMatchObject({ ...key, userId, type: "oidc" })
        expect(stored?.tokens).toMatchObject({
          access_token: "at-1",
          refresh_token: "rt-1",
          session_state: null,
          [EXTRA_COLUMN]: 3600,
        })
      })

      // Visible after commit, from another client; only the given columns change.
      await fixtureB.store.withAccountLock(key, async (account) => {
        await account.update(
          { tokens: { access_token: "at-2", expires_at: 1_700_003_600, [EXTRA_COLUMN]: 7200 } },
          { userId },
        )
        const stored = (await account.readAll())[0]
        expect(stored?.tokens).toMatchObject({
          access_token: "at-2",
          refresh_token: "rt-1",
          id_token: "idt-1",
          scope: "openid offline_access",
          token_type: "bearer",
          [EXTRA_COLUMN]: 7200,
        })
      })

      const rows = await fixtureA.accountRows(key)
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ access_token: "at-2", refresh_token: "rt-1", [EXTRA_COLUMN]: 7200 })
      expect(String(rows[0]?.userId)).toBe(userId)
    })

    test(`expires_at is read back as the driver returns it (${spec.expiresAtAs})`, async () => {
      const key = freshKey("expires")
      const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      const read = await fixtureA.store.withAccountLock(key, async (account) => {
        await account.insert(row(key, userId, { access_token: "at", expires_at: 1_700_000_123 }))
        return (await account.readAll())[0]
      })
      const expiresAt = read?.tokens.expires_at
      expect(typeof expiresAt).toBe(spec.expiresAtAs)
      expect(Number(expiresAt)).toBe(1_700_000_123)
      // The key columns are not repeated among the tokens; the surrogate id (if any) is left out.
      expect(Object.keys(read?.tokens ?? {})).not.toEqual(expect.arrayContaining(["provider"]))
      expect(read?.tokens).not.toHaveProperty("providerAccountId")
      expect(read?.tokens).not.toHaveProperty("userId")
      expect(read?.tokens).not.toHaveProperty("id")
    })

    test("a row inserted by the store is found by the official adapter", async () => {
      const key = freshKey("interop")
      const email = `${key.providerAccountId}@example.test`
      const userId = await fixtureA.insertUser(email)
      await fixtureA.store.withAccountLock(key, (account) => account.insert(row(key, userId, { access_token: "at" })))
      const user = await fixtureA.adapter.getUserByAccount?.(key)
      expect(user?.email).toBe(email)
      expect(String(user?.id)).toBe(userId)
    })

    test("a row linked by the official adapter is read and updated by the store", async () => {
      const key = freshKey("adapter-linked")
      const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      await fixtureA.adapter.linkAccount?.({
        ...key,
        userId,
        type: "oidc",
        access_token: "adapter-at",
        refresh_token: "adapter-rt",
        expires_at: 1_700_000_000,
        token_type: "bearer",
      })
      await fixtureA.store.withAccountLock(key, async (account) => {
        const stored = (await account.readAll())[0]
        expect(stored).toMatchObject({ ...key, userId, type: "oidc" })
        expect(stored?.tokens).toMatchObject({ access_token: "adapter-at", refresh_token: "adapter-rt" })
        await account.update({ tokens: { access_token: "store-at" } }, { userId })
      })
      expect(await fixtureA.accountRows(key)).toEqual([
        expect.objectContaining({ access_token: "store-at", refresh_token: "adapter-rt" }),
      ])
    })

    test("update can re-point the owner (userId) and leaves tokens it is not given alone", async () => {
      const key = freshKey("repoint")
      const first = await fixtureA.insertUser(`${key.providerAccountId}-1@example.test`)
      const second = await fixtureA.insertUser(`${key.providerAccountId}-2@example.test`)
      await fixtureA.store.withAccountLock(key, (account) =>
        account.insert(row(key, first, { access_token: "at", refresh_token: "rt" })),
      )
      await fixtureA.store.withAccountLock(key, (account) => account.update({ userId: second }, { userId: first }))
      const rows = await fixtureA.accountRows(key)
      expect(rows).toEqual([expect.objectContaining({ access_token: "at", refresh_token: "rt" })])
      expect(String(rows[0]?.userId)).toBe(second)
    })

    test("an empty update is a no-op", async () => {
      const key = freshKey("noop")
      const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      await fixtureA.store.withAccountLock(key, async (account) => {
        await account.insert(row(key, userId, { access_token: "at" }))
        await account.update({}, { userId })
        await account.update({ tokens: {} }, { userId })
      })
      expect(await fixtureA.accountRows(key)).toEqual([expect.objectContaining({ access_token: "at" })])
    })

    test("userExists tells existing users from missing ones", async () => {
      const key = freshKey("user-exists")
      const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      const missing = cell === "pg" ? "2147483000" : cell === "kysely" ? globalThis.crypto.randomUUID() : "no-such-user"
      const [exists, doesNot] = await fixtureA.store.withAccountLock(key, async (account) =>
        Promise.all([account.userExists(userId), account.userExists(missing)]),
      )
      expect(exists).toBe(true)
      expect(doesNot).toBe(false)
    })

    // Serial ids: only the pg-adapter schema has integer user ids here (a second Prisma schema with an
    // `Int` id is not generated); the Prisma store hands Prisma the id as it read it for the same reason.
    if (cell === "pg")
      test("integer user ids, as numbers and bigints, are looked up, inserted and re-pointed (serial users.id)", async () => {
        const key = freshKey("int-id")
        const first = Number(await fixtureA.insertUser(`${key.providerAccountId}-1@example.test`))
        const second = BigInt(await fixtureA.insertUser(`${key.providerAccountId}-2@example.test`))
        await fixtureA.store.withAccountLock(key, async (account) => {
          expect(await account.userExists(first)).toBe(true)
          expect(await account.userExists(second)).toBe(true)
          await account.insert({ ...key, userId: first, type: "oidc", tokens: { access_token: "at" } })
        })
        await fixtureA.store.withAccountLock(key, (account) =>
          account.update({ userId: second }, { userId: String(first) }),
        )
        expect((await fixtureA.accountRows(key)).map((r) => String(r.userId))).toEqual([String(second)])
        // Through the wrapper, as Auth.js calls it with the number createUser returned.
        const wrapped = withTokenSync(fixtureA.adapter, fixtureA.db as TokenSyncDatabase)
        const other = freshKey("int-id-link")
        const linked = await wrapped.linkAccount({
          ...other,
          userId: first as unknown as string,
          type: "oauth",
          access_token: "at.n",
        })
        expect(linked).toMatchObject({ ...other, userId: first, access_token: "at.n" })
        expect(await wrapped.syncAccount({ ...other, userId: first, access_token: "at.m" })).toMatchObject({
          access_token: "at.m",
        })
      })

    // Prisma's `Int` expires_at cannot hold a millisecond value at all (P2020), nor can the 32-bit integer
    // column of @auth/drizzle-adapter's tables, so no such row can exist there.
    if (spec.expiresAtHoldsMilliseconds ?? cell !== "prisma")
      test("an expires_at written in milliseconds by older code is read as milliseconds", async () => {
        const key = freshKey("ms-row")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        const expiresAtSeconds = Math.floor(Date.now() / 1000) + 30
        await fixtureA.store.withAccountLock(key, (account) =>
          account.insert(row(key, userId, { access_token: "old", expires_at: expiresAtSeconds * 1000 })),
        )
        const wrapped = withTokenSync(fixtureA.adapter, fixtureA.db as TokenSyncDatabase)
        const synced = await wrapped.syncAccount({ ...key, userId, access_token: "new" })
        expect(synced?.expires_at).toBe(expiresAtSeconds)
        // The same expiry arriving in seconds is the same instant: the locked path sees no change and leaves
        // the row as it was written; the one-statement sign-in writes what it is given, in seconds.
        await wrapped.syncAccount({ ...key, userId, expires_at: expiresAtSeconds })
        expect(Number((await fixtureA.accountRows(key))[0]?.expires_at)).toBe(expiresAtSeconds)
      })
    test("findAccounts for a caller that already left (an aborted AccountReadOptions.signal) sends nothing and rejects", async () => {
      const key = freshKey("find-abandoned")
      const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      await fixtureA.store.withAccountLock(key, (account) => account.insert(row(key, userId, { access_token: "at" })))
      await expect(
        fixtureA.store.findAccounts(userId, key.provider, { signal: AbortSignal.abort() }),
      ).rejects.toMatchObject({ name: "AbandonedWait" })
      // The signal is the only difference: the same read with a live one answers.
      const rows = await fixtureA.store.findAccounts(userId, key.provider, { signal: new AbortController().signal })
      expect(rows.map((found) => found.tokens.access_token)).toEqual(["at"])
    })

    test("findAccounts returns the user's account rows at that provider only, outside any lock", async () => {
      const base = freshKey("find")
      const userId = await fixtureA.insertUser(`${base.providerAccountId}@example.test`)
      const other = await fixtureA.insertUser(`${base.providerAccountId}-other@example.test`)
      const keys = [
        { provider: base.provider, providerAccountId: `${base.providerAccountId}-a` },
        { provider: base.provider, providerAccountId: `${base.providerAccountId}-b` },
      ]
      const elsewhere = { provider: "another-provider", providerAccountId: `${base.providerAccountId}-c` }
      const notMine = { provider: base.provider, providerAccountId: `${base.providerAccountId}-d` }
      for (const key of [...keys, elsewhere]) {
        await fixtureA.store.withAccountLock(key, (a) =>
          a.insert(row(key, userId, { access_token: `at-${key.providerAccountId}`, expires_at: 1_700_000_000 })),
        )
      }
      await fixtureA.store.withAccountLock(notMine, (a) => a.insert(row(notMine, other)))

      const found = await fixtureB.store.findAccounts(userId, base.provider)
      const sorted = [...found].sort((x, y) => x.providerAccountId.localeCompare(y.providerAccountId))
      expect(sorted).toEqual(
        keys.map((key) => ({
          ...key,
          userId,
          type: "oidc",
          tokens: expect.objectContaining({ access_token: `at-${key.providerAccountId}`, refresh_token: null }),
        })),
      )
      expect(typeof sorted[0]?.tokens.expires_at).toBe(spec.expiresAtAs)
      expect(await fixtureB.store.findAccounts(userId, "nobody")).toEqual([])
    })

    test("findAccounts does not wait for a locked account (no lock taken)", async () => {
      const key = freshKey("find-unlocked")
      const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      await fixtureA.store.withAccountLock(key, (a) => a.insert(row(key, userId, { access_token: "committed" })))
      await whileHolding(
        fixtureA.store,
        key,
        async () => {
          // Sees the committed value at once, while the lock (and an uncommitted update) is held elsewhere.
          const found = await fixtureB.store.findAccounts(userId, key.provider)
          expect(found.map((account) => account.tokens.access_token)).toEqual(["committed"])
        },
        (account) => account.update({ tokens: { access_token: "uncommitted" } }, { userId }),
      )
    })

    test("offers updateOwnTokens (the one-statement sign-in)", () => {
      expect(typeof fixtureA.store.updateOwnTokens).toBe("function")
    })
    if (postgresOneStatement)
      describe("updateOwnTokens", () => {
        type Args = Parameters<NonNullable<AccountStore["updateOwnTokens"]>>
        // PostgreSQL stores return the rows as written (UPDATE ... RETURNING), never only a count.
        const update = async (fixture: DatabaseFixture<unknown>, key: Args[0], userId: Args[1], tokens: Args[2]) => {
          const written = await fixture.store.updateOwnTokens!(key, userId, tokens, () => {})
          if (!Array.isArray(written)) throw new Error(`expected the rows as written, got ${JSON.stringify(written)}`)
          return written
        }
        test("sends nothing when begin() throws (the caller stopped waiting for a connection), and rethrows its error", async () => {
          const key = freshKey("one-statement-abandoned")
          const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
          await fixtureA.store.withAccountLock(key, (a) => a.insert(row(key, userId, { access_token: "at-1" })))
          const abandoned = new Error("abandoned")
          await expect(
            fixtureB.store.updateOwnTokens!(key, userId, { access_token: "at-2" }, () => {
              throw abandoned
            }),
          ).rejects.toBe(abandoned)
          expect(await fixtureA.accountRows(key)).toEqual([expect.objectContaining({ access_token: "at-1" })])
        })

        test("passes over a row an app transaction holds (FOR UPDATE) instead of waiting for it", async () => {
          const key = freshKey("one-statement-row-held")
          const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
          await fixtureA.store.withAccountLock(key, (a) => a.insert(row(key, userId, { access_token: "at-1" })))
          const app = await inspectPool.connect()
          try {
            await app.query("BEGIN")
            await app.query(
              `SELECT 1 FROM ${SCHEMA_TABLES[cell].accounts} ` +
                `WHERE "provider" = $1 AND "providerAccountId" = $2 FOR UPDATE`,
              [key.provider, key.providerAccountId],
            )
            // The app still holds the row: a call that waited would never return.
            expect(await update(fixtureB, key, userId, { access_token: "at-2" })).toEqual([])
          } finally {
            await app.query("ROLLBACK")
            app.release()
          }
          expect(await update(fixtureB, key, userId, { access_token: "at-2" })).toHaveLength(1)
        })
        test("writes the given tokens to the owner's row, leaves the others alone, and returns the row as written", async () => {
          const key = freshKey("one-statement")
          const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
          await fixtureA.store.withAccountLock(key, (a) =>
            a.insert(row(key, userId, { access_token: "at-1", refresh_token: "rt-1", expires_at: 100 })),
          )
          const written = await update(fixtureB, key, userId, { access_token: "at-2", expires_at: 200 })
          expect(written).toHaveLength(1)
          expect(written[0]).toMatchObject({ ...key, userId: String(userId) })
          expect(written[0]?.tokens).toMatchObject({ access_token: "at-2", refresh_token: "rt-1" })
          expect(Number(written[0]?.tokens.expires_at)).toBe(200)
          expect(await fixtureA.accountRows(key)).toEqual([
            expect.objectContaining({ access_token: "at-2", refresh_token: "rt-1" }),
          ])
        })

        test("writes nothing, without waiting, while a transaction elsewhere holds the key's lock", async () => {
          const key = freshKey("one-statement-held")
          const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
          await fixtureA.store.withAccountLock(key, (a) => a.insert(row(key, userId, { access_token: "at-1" })))
          // The holder is released only after the call returns: a call that waited would never return.
          const written = await whileHolding(fixtureA.store, key, () =>
            update(fixtureB, key, userId, { access_token: "at-2" }),
          )
          expect(written).toEqual([])
          expect(await fixtureA.accountRows(key)).toEqual([expect.objectContaining({ access_token: "at-1" })])
          // Once the lock is free, the same call writes.
          expect(await update(fixtureB, key, userId, { access_token: "at-2" })).toHaveLength(1)
        })

        test("writes nothing for a key without a row, or for a row of another user", async () => {
          const key = freshKey("one-statement-none")
          const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
          const stranger = await fixtureA.insertUser(`${key.providerAccountId}-stranger@example.test`)
          expect(await update(fixtureB, key, userId, { access_token: "at" })).toEqual([])
          expect(await fixtureA.accountRows(key)).toEqual([])
          await fixtureA.store.withAccountLock(key, (a) => a.insert(row(key, stranger, { access_token: "theirs" })))
          expect(await update(fixtureB, key, userId, { access_token: "mine" })).toEqual([])
          expect(await fixtureA.accountRows(key)).toEqual([expect.objectContaining({ access_token: "theirs" })])
        })

        if (spec.allowsDuplicates)
          test("writes nothing when another user also has a row of the key (the ownership policy decides under the lock)", async () => {
            const key = freshKey("one-statement-shared")
            const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
            const other = await fixtureA.insertUser(`${key.providerAccountId}-other@example.test`)
            await fixtureA.store.withAccountLock(key, async (a) => {
              await a.insert(row(key, userId, { access_token: "mine" }))
              await a.insert(row(key, other, { access_token: "theirs" }))
            })
            expect(await update(fixtureB, key, userId, { access_token: "new" })).toEqual([])
            const tokens = (await fixtureA.accountRows(key)).map((r) => r.access_token).sort()
            expect(tokens).toEqual(["mine", "theirs"])
          })
      })

    if (!other)
      test("a sign-in while a refresh holds the key's lock waits and lands after it: the refresh cannot overwrite it", async () => {
        const key = freshKey("signin-during-refresh")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        await fixtureA.store.withAccountLock(key, (a) =>
          a.insert(row(key, userId, { access_token: "at-0", refresh_token: "rt-0" })),
        )
        const inside = deferred()
        const release = deferred()
        // What a refresh does under the lock: read, ask the provider (here: wait), write what it got.
        const refresh = fixtureA.store.withAccountLock(key, async (account) => {
          const [stored] = await account.readAll()
          inside.resolve()
          await release.promise
          await account.update(
            { tokens: { access_token: "at-refresh", refresh_token: "rt-refresh" } },
            { userId: stored!.userId },
          )
        })
        await inside.promise
        const signIn = withTokenSync(fixtureB.adapter, fixtureB.db as TokenSyncDatabase).syncAccount({
          ...key,
          userId,
          access_token: "at-sign-in",
          refresh_token: "rt-sign-in",
        })
        try {
          // Parked on the lock: a sign-in that wrote at once would be overwritten by the refresh below.
          await waitForAdvisoryWaiters(inspectPool, 1)
        } finally {
          release.resolve()
          await refresh
        }
        await signIn
        expect(await fixtureA.accountRows(key)).toEqual([
          expect.objectContaining({ access_token: "at-sign-in", refresh_token: "rt-sign-in" }),
        ])
      })

    describe("withAccountLock", () => {
      test(`serialises two callers on the same key ${other?.lockKind === "database" ? "on one client" : "across separate pools"}: the second waits until the first commits`, async () => {
        const key = freshKey("serialise")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        const events: string[] = []
        const aInside = deferred()
        const releaseA = deferred()
        const seeded = other?.lockKind === "row"
        if (seeded)
          await fixtureA.store.withAccountLock(key, (account) =>
            account.insert(row(key, userId, { access_token: "before" })),
          )

        const first = fixtureA.store.withAccountLock(key, async (account) => {
          events.push("A enters")
          if (seeded) await account.update({ tokens: { access_token: "from-A" } }, { userId })
          else await account.insert(row(key, userId, { access_token: "from-A" }))
          aInside.resolve()
          await releaseA.promise
          events.push("A leaves")
        })
        await aInside.promise

        const second = contender().store.withAccountLock(key, async (account) => {
          events.push("B enters")
          return (await account.readAll())[0]
        })
        try {
          // B is parked on the lock, not merely slow.
          if (!other) await waitForAdvisoryWaiters(inspectPool, 1)
          else await other.waitForLockWaiters?.(database.url, 1)
          await sleep(150)
          expect(events).toEqual(["A enters"])
        } finally {
          releaseA.resolve()
          await first
        }
        const seenByB = await second
        expect(events).toEqual(["A enters", "A leaves", "B enters"])
        // B's first read after the lock sees what A committed (READ COMMITTED, fresh snapshot per statement).
        expect(seenByB?.tokens.access_token).toBe("from-A")
      })

      if (other?.lockKind !== "database")
        test("does not serialise callers on different keys", async () => {
          const key1 = freshKey("independent-1")
          const key2 = freshKey("independent-2")
          const userId = await fixtureA.insertUser(`${key1.providerAccountId}@example.test`)
          await whileHolding(fixtureA.store, key1, async () => {
            // Completes while A still holds key1's lock.
            await fixtureB.store.withAccountLock(key2, (account) =>
              account.insert(row(key2, userId, { access_token: "b" })),
            )
            expect(await fixtureB.accountRows(key2)).toHaveLength(1)
          })
        })

      if (!other)
        test("excludes a session holding the shared ADVISORY_LOCK_KEY_SQL lock (stores of any ORM exclude each other)", async () => {
          const key = freshKey("shared-key")
          const holder = await inspectPool.connect()
          try {
            await holder.query("BEGIN")
            await holder.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`, [
              key.provider,
              key.providerAccountId,
            ])
            let entered = false
            const waiting = fixtureA.store.withAccountLock(key, async () => {
              entered = true
            })
            await waitForAdvisoryWaiters(inspectPool, 1)
            expect(entered).toBe(false)
            await holder.query("COMMIT")
            await waiting
            expect(entered).toBe(true)
          } finally {
            await holder.query("ROLLBACK").catch(() => {}) // no-op after COMMIT; frees the lock if an assertion failed
            holder.release()
          }
        })

      test("rolls back and rethrows the same error when work throws: nothing is written", async () => {
        const key = freshKey("rollback")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        const failure = new Error("work failed")
        await expect(
          fixtureA.store.withAccountLock(key, async (account) => {
            await account.insert(row(key, userId, { access_token: "never" }))
            throw failure
          }),
        ).rejects.toBe(failure)
        expect(await fixtureA.accountRows(key)).toEqual([])

        // An update rolled back leaves the row as it was.
        await fixtureA.store.withAccountLock(key, (account) =>
          account.insert(row(key, userId, { access_token: "kept" })),
        )
        await expect(
          fixtureA.store.withAccountLock(key, async (account) => {
            await account.update({ tokens: { access_token: "discarded" } }, { userId })
            throw failure
          }),
        ).rejects.toBe(failure)
        expect(await fixtureA.accountRows(key)).toEqual([expect.objectContaining({ access_token: "kept" })])

        // And the lock is free again: the pool's connections are healthy and usable.
        await expect(
          fixtureA.store.withAccountLock(key, async (account) => (await account.readAll())[0]),
        ).resolves.toMatchObject({ ...key })
      })

      test("rolls back when a statement fails (constraint violation) and the store stays usable", async () => {
        const key = freshKey("db-error")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        await expect(
          fixtureA.store.withAccountLock(key, async (account) => {
            await account.insert(row(key, userId, { access_token: "first" }))
            // Unknown column: the database (or Prisma's validation) refuses it.
            await account.update({ tokens: { no_such_column: "x" } }, { userId })
          }),
        ).rejects.toThrow()
        expect(await fixtureA.accountRows(key)).toEqual([])
        await fixtureA.store.withAccountLock(key, (account) =>
          account.insert(row(key, userId, { access_token: "second" })),
        )
        expect(await fixtureA.accountRows(key)).toEqual([expect.objectContaining({ access_token: "second" })])
      })

      test("refuses invalid token column names before sending anything", async () => {
        const key = freshKey("bad-column")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        for (const bad of ['access_token" = NULL; --', "bad name", "1st", "", "naïve", "provider", "userId"]) {
          await expect(
            fixtureA.store.withAccountLock(key, (account) => account.insert(row(key, userId, { [bad]: "x" }))),
          ).rejects.toThrow(/Invalid token column name/)
          await expect(
            fixtureA.store.withAccountLock(key, (account) => account.update({ tokens: { [bad]: "x" } }, { userId })),
          ).rejects.toThrow(/Invalid token column name/)
        }
        expect(await fixtureA.accountRows(key)).toEqual([])
      })

      test("a LockedAccount kept after its callback refuses to run", async () => {
        const key = freshKey("escaped")
        let escaped: LockedAccount | undefined
        await fixtureA.store.withAccountLock(key, async (account) => {
          escaped = account
        })
        await expect(escaped?.readAll()).rejects.toThrow(/after its withAccountLock callback ended/)
      })

      test("a per-call lockTimeoutMs bounds the wait for the lock (and overrides the store's default)", async () => {
        const key = freshKey("call-lock-timeout")
        await lockable(key)
        const patient = await ctx.fixture({ store: { lockTimeoutMs: 60_000 } })
        await whileHolding(fixtureA.store, key, async () => {
          const started = Date.now()
          const failure = await patient.store
            .withAccountLock(key, async () => "entered", { lockTimeoutMs: 150 })
            .then(
              () => undefined,
              (error: unknown) => error,
            )
          // The database's lock-wait error, turned by the store into AccountStoreError.lockTimeout.
          expect(isLockTimeout(failure)).toBe(true)
          expect(Date.now() - started).toBeLessThan(3_000)
          await expect(
            fixtureB.store.withAccountLock(key, async () => "entered", { lockTimeoutMs: 0 }),
          ).rejects.toThrow(/lockTimeoutMs/)
        })
        // The setting was transaction-local: the next transaction on those connections waits normally.
        await expect(patient.store.withAccountLock(key, async () => "entered")).resolves.toBe("entered")
      })

      test("lockTimeoutMs bounds the wait for the lock", async () => {
        const key = freshKey("lock-timeout")
        await lockable(key)
        const impatient = await ctx.fixture({ store: { lockTimeoutMs: 200 } })
        await whileHolding(fixtureA.store, key, async () => {
          const started = Date.now()
          let entered = false
          const failure = await impatient.store
            .withAccountLock(key, async () => {
              entered = true
            })
            .then(
              () => undefined,
              (error: unknown) => error,
            )
          expect(isLockTimeout(failure)).toBe(true)
          expect(entered).toBe(false)
          expect(Date.now() - started).toBeLessThan(3_000)
        })
      })
    })

    test("update touches only the rows of the owner it is scoped to", async () => {
      const key = freshKey("scoped-update")
      const owner = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
      const stranger = await fixtureA.insertUser(`${key.providerAccountId}-stranger@example.test`)
      await fixtureA.store.withAccountLock(key, (account) =>
        account.insert(row(key, owner, { access_token: "owner-at" })),
      )
      const before = await fixtureA.accountRows(key)
      await fixtureA.store.withAccountLock(key, async (account) => {
        await account.update({ userId: stranger, tokens: { access_token: "stranger-at" } }, { userId: stranger })
        // A scope is required: an unscoped update would touch every user's rows.
        await expect(account.update({ tokens: { access_token: "x" } }, undefined as never)).rejects.toThrow(
          /scope\.userId/,
        )
      })
      // The Prisma store's MySQL row lock is an UPDATE of the key through the delegate, so Prisma moves
      // @updatedAt when the lock is taken (documented); every other column must be as it was.
      const comparable = (rows: Record<string, unknown>[]) =>
        other?.lockKind === "row" ? rows.map(({ updatedAt: _moved, ...rest }) => rest) : rows
      expect(comparable(await fixtureA.accountRows(key))).toEqual(comparable(before))
    })

    describe("a schema that lacks what the store looks for", () => {
      /** A database with the cell's schema, changed by `alter`, and a fixture on it; dropped afterwards. */
      async function brokenSchema<T>(
        alter: string,
        body: (fixture: DatabaseFixture<unknown>) => Promise<T>,
      ): Promise<T> {
        const broken = other ? await other.create(`stores ${cell} broken`) : await testDatabase(`stores ${cell} broken`)
        let fixture: DatabaseFixture<unknown> | undefined
        try {
          if (other) {
            await other.applySchema(broken.url)
            await other.exec(broken.url, alter)
            fixture = await other.fixture(broken.url, {})
          } else {
            await applySchema(cell, broken.url)
            const pool = new pg.Pool({ connectionString: broken.url })
            await pool.query(alter).finally(() => pool.end())
            fixture = await createFixture(cell, broken.url)
          }
          return await body(fixture)
        } finally {
          await fixture?.close()
          await broken.drop()
        }
      }
      const accounts = SCHEMA_TABLES[cell].accounts
      const optionOf: Record<PgCell, RegExp> = {
        pg: /pgAccountStore\(pool, \{ accountsTable \}\)/,
        kysely: /kyselyAccountStore\(db, \{ accountTable \}\)/,
        prisma: /prismaAccountStore\(prisma, \{ accountModel \}\)/,
        drizzle: /drizzleAccountStore\(db, \{ accountsTable \}\)/,
        "drizzle-postgres-js": /drizzleAccountStore\(db, \{ accountsTable \}\)/,
      }
      test("a missing accounts table: the error names the table the store looked for and the option that sets it", async () => {
        await brokenSchema(other?.dropAccountsTable ?? `DROP TABLE ${accounts} CASCADE`, async (fixture) => {
          const key = freshKey("no-table")
          const secret = `at-secret-${key.providerAccountId}`
          const wrapped = withTokenSync(fixture.adapter, fixture.db as TokenSyncDatabase)
          for (const attempt of [
            () => wrapped.syncAccount({ ...key, userId: "1", access_token: secret }),
            () => fixture.store.findAccounts("1", key.provider),
          ]) {
            const failure = await attempt().then(
              () => undefined,
              (error: unknown) => error,
            )
            expect(failure).toBeInstanceOf(AccountSchemaError)
            const message = (failure as Error).message
            expect(message).toMatch(cell === "pg" ? /"accounts"/ : cell === "kysely" ? /"Account"/ : /"account"/)
            expect(message).toMatch(optionOf[cell])
            expect(inspect(failure, { depth: 10 })).not.toContain(secret)
          }
        })
      })

      test("a missing column: the error names the column, the table and where the column comes from", async () => {
        await brokenSchema(
          other?.dropAccountsColumn("session_state") ?? `ALTER TABLE ${accounts} DROP COLUMN "session_state"`,
          async (fixture) => {
            const key = freshKey("no-column")
            const userId = await fixture.insertUser(`${key.providerAccountId}@example.test`)
            const secret = `at-secret-${key.providerAccountId}`
            const wrapped = withTokenSync(fixture.adapter, fixture.db as TokenSyncDatabase)
            const failure = await wrapped
              .linkAccount({ ...key, userId, type: "oidc", access_token: secret, session_state: "ss" })
              .then(
                () => undefined,
                (error: unknown) => error,
              )
            expect(failure).toBeInstanceOf(AccountSchemaError)
            expect((failure as AccountSchemaError).column).toBe("session_state")
            expect((failure as Error).message).toMatch(/"session_state"/)
            expect((failure as Error).message).toMatch(optionOf[cell])
            expect((failure as Error).message).toMatch(/tokenFields/)
            expect(inspect(failure, { depth: 10 })).not.toContain(secret)
            expect(await fixture.accountRows(key)).toEqual([])
          },
        )
      })

      test("a tokenFields column the table lacks: the error names it", async () => {
        const key = freshKey("no-extra")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        const wrapped = withTokenSync(fixtureA.adapter, fixtureA.db as TokenSyncDatabase, {
          tokenFields: ["not_in_schema"],
        })
        const failure = await wrapped
          .linkAccount({ ...key, userId, type: "oidc", access_token: "at", not_in_schema: "x" } as never)
          .then(
            () => undefined,
            (error: unknown) => error,
          )
        expect(failure).toBeInstanceOf(AccountSchemaError)
        expect((failure as AccountSchemaError).column).toBe("not_in_schema")
        expect((failure as Error).message).toMatch(/tokenFields/)
        expect(await fixtureA.accountRows(key)).toEqual([])
      })
    })

    if (spec.allowsDuplicates) {
      /** Inserts an account row with plain SQL, as the bare adapter (or a race in it) leaves duplicates. */
      const insertRaw = async (key: AccountKey, userId: string, tag: string): Promise<void> => {
        await inspectPool.query(
          `INSERT INTO ${SCHEMA_TABLES[cell].accounts}
             ("userId", "type", "provider", "providerAccountId", "access_token", "refresh_token", "expires_at")
           VALUES ($1, 'oidc', $2, $3, $4, $5, $6)`,
          [userId, key.provider, key.providerAccountId, `at-${tag}`, `rt-${tag}`, 1_700_000_000],
        )
      }
      const rowsOf = async (key: AccountKey, userId: string) =>
        (await fixtureA.accountRows(key)).filter((stored) => String(stored.userId) === userId)
      const twoUsers = async (key: AccountKey) => {
        const a = await fixtureA.insertUser(`${key.providerAccountId}-a@example.test`)
        const b = await fixtureA.insertUser(`${key.providerAccountId}-b@example.test`)
        await insertRaw(key, a, "a")
        await insertRaw(key, b, "b")
        return { a, b }
      }
      test("duplicates left by the bare adapter (no unique key): readAll returns every row, update changes the owner's rows only", async () => {
        const key = freshKey("duplicates")
        const userId = await fixtureA.insertUser(`${key.providerAccountId}@example.test`)
        const other = await fixtureA.insertUser(`${key.providerAccountId}-other@example.test`)
        for (const token of ["dup-1", "dup-2", "dup-3"]) {
          await fixtureA.adapter.linkAccount?.({
            ...key,
            userId,
            type: "oidc",
            access_token: token,
            refresh_token: `rt-${token}`,
          })
        }
        await insertRaw(key, other, "other")
        const othersBefore = await rowsOf(key, other)

        await fixtureA.store.withAccountLock(key, async (account) => {
          const all = await account.readAll()
          expect(all.map((stored) => stored.userId).sort()).toEqual([userId, userId, userId, other].sort())
          await account.update({ tokens: { access_token: "synced", expires_at: 1_800_000_000 } }, { userId })
        })
        const mine = await rowsOf(key, userId)
        expect(mine).toHaveLength(3)
        for (const stored of mine) expect(stored).toMatchObject({ access_token: "synced", expires_at: "1800000000" })
        expect(mine.map((stored) => stored.refresh_token).sort()).toEqual(["rt-dup-1", "rt-dup-2", "rt-dup-3"])
        expect(await rowsOf(key, other)).toEqual(othersBefore)
        // findAccounts reports the key once, and only the user's own row.
        expect(await fixtureA.store.findAccounts(userId, key.provider)).toEqual([
          expect.objectContaining({ ...key, userId, tokens: expect.objectContaining({ access_token: "synced" }) }),
        ])
      })

      describe("withTokenSync on duplicate rows of different users", () => {
        const wrapped = () => withTokenSync(fixtureA.adapter, fixtureA.db as TokenSyncDatabase)
        test("a sync or link as one user writes that user's row only; the other live user's row is byte-for-byte unchanged", async () => {
          const key = freshKey("dup-two-users")
          const { a, b } = await twoUsers(key)
          const before = await rowsOf(key, b)
          await wrapped().syncAccount({ ...key, userId: a, access_token: "at-a-2", expires_at: 1_800_000_000 })
          await wrapped().linkAccount({ ...key, userId: a, type: "oidc", refresh_token: "rt-a-3" })
          expect(await rowsOf(key, a)).toEqual([
            expect.objectContaining({ access_token: "at-a-2", refresh_token: "rt-a-3" }),
          ])
          expect(await rowsOf(key, b)).toEqual(before)
        })
        test("a link as a third live user is refused with AccountLinkedToAnotherUserError, nothing written", async () => {
          const key = freshKey("dup-intruder")
          await twoUsers(key)
          const intruder = await fixtureA.insertUser(`${key.providerAccountId}-c@example.test`)
          const before = await fixtureA.accountRows(key)
          await expect(
            wrapped().linkAccount({ ...key, userId: intruder, type: "oidc", access_token: "at-c" }),
          ).rejects.toBeInstanceOf(AccountLinkedToAnotherUserError)
          expect(await fixtureA.accountRows(key)).toEqual(before)
        })
        test("an orphaned duplicate (its user deleted) is re-pointed to the user linking the account; a live user's row is not", async () => {
          const key = freshKey("dup-orphan")
          const a = await fixtureA.insertUser(`${key.providerAccountId}-a@example.test`)
          const gone = await fixtureA.insertUser(`${key.providerAccountId}-gone@example.test`)
          await insertRaw(key, a, "a")
          await insertRaw(key, gone, "gone")
          await fixtureA.orphanAccountsOf(gone)
          await wrapped().linkAccount({ ...key, userId: a, type: "oidc", access_token: "at-new" })
          const stored = await fixtureA.accountRows(key)
          expect(stored).toHaveLength(2)
          for (const one of stored)
            expect(one).toMatchObject({ userId: Number.isNaN(Number(a)) ? a : Number(a), access_token: "at-new" })
        })
        test("a sync naming no user, with rows of two live users, is refused with AmbiguousAccountOwnerError, nothing written", async () => {
          const key = freshKey("dup-ambiguous")
          await twoUsers(key)
          const before = await fixtureA.accountRows(key)
          await expect(wrapped().syncAccount({ ...key, access_token: "at-who" })).rejects.toBeInstanceOf(
            AmbiguousAccountOwnerError,
          )
          await expect(wrapped().getUserByAccount({ ...key, access_token: "at-who" })).rejects.toBeInstanceOf(
            AmbiguousAccountOwnerError,
          )
          expect(await fixtureA.accountRows(key)).toEqual(before)
        })

        test("a sync naming no user writes the one live owner's row and leaves an orphan's row alone", async () => {
          const key = freshKey("dup-live-and-orphan")
          const a = await fixtureA.insertUser(`${key.providerAccountId}-a@example.test`)
          const gone = await fixtureA.insertUser(`${key.providerAccountId}-gone@example.test`)
          await insertRaw(key, a, "a")
          await insertRaw(key, gone, "gone")
          await fixtureA.orphanAccountsOf(gone)
          const orphanBefore = await rowsOf(key, gone)
          await wrapped().syncAccount({ ...key, access_token: "at-live" })
          expect(await rowsOf(key, a)).toEqual([expect.objectContaining({ access_token: "at-live" })])
          expect(await rowsOf(key, gone)).toEqual(orphanBefore)
        })

        test("events.signIn writes to Auth.js's user even when account carries another user's userId", async () => {
          const key = freshKey("dup-signin")
          const { a, b } = await twoUsers(key)
          const before = await rowsOf(key, b)
          // What a provider's raw token response could add: Auth.js spreads it into `account`.
          await wrapped().events.signIn({
            user: { id: a },
            account: { ...key, type: "oidc", userId: b, access_token: "at-signin" },
          })
          expect(await rowsOf(key, a)).toEqual([expect.objectContaining({ access_token: "at-signin" })])
          expect(await rowsOf(key, b)).toEqual(before)
        })
      })
    }

    spec.extra?.(ctx)
  })
}
