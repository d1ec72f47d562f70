import type { Adapter } from "@auth/core/adapters"
import type { AccountKey, TokenSyncDatabase } from "authjs-adapter-refresh"

/**
 * What a cell (your client on your database) provides: the bare Auth.js adapter, the `db` an app would pass to
 * `withTokenSync`, and two direct database helpers the kit uses to check results without going through
 * the code under test.
 */
export interface ConformanceFixture {
  /** The unwrapped Auth.js adapter, e.g. `PrismaAdapter(prisma)`. */
  adapter: Adapter
  /** What the app passes to `withTokenSync(adapter, db)`: a client or an `AccountStore`. */
  db: TokenSyncDatabase
  /** Every account row stored for the key, read directly with the fixture's own client. */
  accountRows(key: AccountKey): Promise<Record<string, unknown>[]>
  /**
   * Deletes the user's row but leaves their account rows behind (bypassing foreign keys if the schema
   * has them), so the kit can check that an orphaned account is re-pointed.
   */
  orphanAccountsOf(userId: string): Promise<void>
  /** Closes every connection the fixture opened. */
  close(): Promise<void>
  /**
   * Optional: a nullable text column of the accounts table, named as its Auth.js field (what an app passes
   * as `refresh.reauthColumn`), that the kit may write re-authentication marks into. With it, and a store
   * offering `listReauthMarks`, the kit's (b4) section checks the listing.
   */
  reauthColumn?: string
}

/**
 * The module a cell names in `fixtureModule`. It is imported by the test file AND by the worker
 * processes of the cross-process tests, so it must build everything from the database URL alone.
 */
export interface ConformanceFixtureModule {
  /** Creates the adapter's schema in a fresh, empty database. */
  prepareDatabase(databaseUrl: string): Promise<void>
  createFixture(databaseUrl: string): Promise<ConformanceFixture>
}

/** A database of its own for one suite run: its connection URL, and how to drop it. */
export interface IsolatedDatabase {
  /** Connection URL of the database. */
  url: string
  /** Drops the database. */
  drop(): Promise<void>
}

/**
 * A cell for `runConformanceSuite`: one client (its Auth.js adapter and what `withTokenSync` gets as `db`)
 * on one database, named by its fixture module and the database it gets.
 */
export interface ConformanceCell {
  /** Shown in test names, e.g. "@auth/kysely-adapter". */
  name: string
  /** Absolute path or file URL of a module implementing `ConformanceFixtureModule`. */
  fixtureModule: string | URL
  /**
   * A fresh database for this suite. Default: one created on the server whose admin URL is in
   * `AUTHJS_REFRESH_TEST_PG_URL` (see the `authjs-adapter-refresh-tests/postgres` helpers).
   */
  database?: () => Promise<IsolatedDatabase>
  /** The `name` the detected AccountStore must report (e.g. "prisma"), to check `db` detection. */
  expectedStoreName?: string
  /**
   * Whether the store must offer the one-statement sign-in (`AccountStore.updateOwnTokens`), to check that
   * the (b2) tests ran. Default: not checked (they run when the store offers it).
   */
  expectsOneStatementSignIn?: boolean
  /**
   * Whether the store must offer leases (`AccountStore.leases`, lease mode), to check that the "leases"
   * section ran. Default: not checked (the section runs when the store offers them).
   */
  expectsLeases?: boolean
  /**
   * Whether the (b4) section must run: the store offers `listReauthMarks` and the fixture names a
   * `reauthColumn`. Default: not checked (it runs when both are there).
   */
  expectsReauthListing?: boolean
  /**
   * Whether the store must offer `scanAccounts` (what `reencryptAccounts` and `refreshExpiring` page with), to
   * check that the (b6) section ran. Default: not checked (it runs when the store offers it).
   */
  expectsAccountScan?: boolean
  /**
   * Whose clock judges a lease's end: "store" (default: the database's own, e.g. `clock_timestamp()`, so a
   * process with a shifted clock cannot take a live lease), or "callers" for a store whose conditions know no
   * server time (DynamoDB): the lease's end is the taker's clock, compared by the next taker's, and the store
   * documents a bound on the skew between processes. With "callers" the kit checks that bound instead: a
   * process 1 s ahead cannot take a live 30 s lease, and one 10 minutes ahead can (the documented limit).
   */
  leaseClock?: "store" | "callers"
  /**
   * Whether the bare adapter's own `linkAccount` already leaves one row holding one input entire when many
   * processes link one account of one user at once: true where the layout keys one item per owner and
   * account and replaces it whole (@auth/dynamodb-adapter's single table; @auth/unstorage-adapter and
   * @auth/upstash-redis-adapter, one JSON value per account). The kit's bare-adapter control of
   * that storm then checks this instead of a failure. Default false.
   */
  bareLinksLeaveOneRow?: boolean
  /** OS processes for the concurrency tests (at least 2). Default 2. */
  processes?: number
  /** Concurrent callers per process. Default 25 (so 50 in all with the default 2 processes). */
  callersPerProcess?: number
  /**
   * Node flags for the worker processes that import `fixtureModule`, e.g. `["--import", "my-loader"]`.
   * Default: none for a JavaScript fixture; for a TypeScript one (.ts, .mts, .cts) `--import tsx`, with
   * tsx resolved from the fixture's folder (install it as a dev dependency), unless this Node strips
   * types by itself.
   */
  workerExecArgv?: readonly string[]
}

/**
 * The former name of {@link ConformanceCell}, kept so code that names it still compiles.
 *
 * @deprecated Use `ConformanceCell`; this alias will be removed in the next major version.
 */
export type ConformanceTarget = ConformanceCell
