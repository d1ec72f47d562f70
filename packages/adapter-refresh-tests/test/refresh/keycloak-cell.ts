/**
 * What the Keycloak tests share (keycloak.test.ts, reauth-event.test.ts): the real oidc-provider behind a
 * proxy answering as Keycloak does, the pg cell's documented schema on real PostgreSQL with a reauth mark
 * column, the real Auth.js handler (its code exchange goes through the proxy too) and one user signed in.
 */
import type { Adapter } from "@auth/core/adapters"
import {
  withTokenSync,
  type RefreshOptions,
  type TokenSyncAdapter,
  type TokenSyncOptions,
} from "authjs-adapter-refresh"
import { startAuthApp, type AuthApp } from "../../src/harness/auth-app.js"
import { Browser } from "../../src/harness/browser.js"
import { startKeycloakProxy, type KeycloakProxy, type KeycloakProxyOptions } from "../../src/harness/keycloak-proxy.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase } from "../../src/harness/postgres.js"
import { applySchema, createFixture, SCHEMA_TABLES, type DatabaseFixture } from "../../src/fixtures/databases.js"
import {
  applyPrismaSchema,
  createPrismaOtherFixture,
  testOtherDatabase,
  type PrismaOtherDatabase,
} from "../../src/fixtures/prisma-databases.js"

export interface KeycloakCell {
  op: TestOidcProvider
  kc: KeycloakProxy
  fixture: DatabaseFixture<unknown>
  app: AuthApp
  browser: Browser
  /** The signed-in user's id, as the database stores it. */
  userId: string
  /** A withTokenSync instance (as in its own process: no shared memory) refreshing through the proxy. */
  tokenSync(refresh?: Partial<RefreshOptions>, options?: Omit<TokenSyncOptions, "refresh">): TokenSyncAdapter<Adapter>
  /** The account's row. */
  row(): Promise<Record<string, unknown>>
  /** Sets one column of the account's row directly (SQL on the database's own driver). */
  setColumn(column: string, value: number | string | null): Promise<void>
  /** Waits until the stored access token has expired. */
  waitForExpiry(): Promise<void>
  /** Signs the user in again through Auth.js (a new login at the provider). */
  signInAgain(): Promise<void>
  stop(): Promise<void>
}

export interface KeycloakCellOptions {
  /** Name of the test database. */
  database: string
  providerId: string
  login: string
  proxy?: KeycloakProxyOptions
  /**
   * The client and database: "pg", "kysely" and "prisma" on PostgreSQL (their documented schemas); "prisma-sqlite" and
   * "prisma-mysql" (MariaDB) with the test Prisma schemas. On the last two `fixture` has only `adapter`, `db`,
   * `accountRows` and `close`. Default "pg".
   */
  cell?: "pg" | "kysely" | "prisma" | `prisma-${PrismaOtherDatabase}`
  /** Add the reauth mark column `refresh_error` and configure it. Default true on pg (Prisma's model has none). */
  reauthColumn?: boolean
  /**
   * Configure `refresh.refreshTokenExpiryColumn: "refresh_token_expires_at"` (BIGINT); on pg and Kysely the column
   * is added first (Prisma's test schemas have it). Default false.
   */
  refreshTokenExpiryColumn?: boolean
}

/** Starts the provider, the proxy, the database and the app, and signs the user in once. */
export async function startKeycloakCell(options: KeycloakCellOptions): Promise<KeycloakCell> {
  const { providerId, login } = options
  const op = await startOidcProvider({ accessTokenTtl: 2, rotateRefreshToken: true })
  const kc = await startKeycloakProxy(op.endpoints.token, options.proxy)
  const cellName = options.cell ?? "pg"
  const mark = options.reauthColumn ?? cellName === "pg"
  const expiry = options.refreshTokenExpiryColumn ?? false
  const key = { provider: providerId, providerAccountId: login }
  let db: { drop(): Promise<void> }
  let fixture: DatabaseFixture<unknown>
  let setColumn: KeycloakCell["setColumn"]
  if (cellName === "pg" || cellName === "kysely" || cellName === "prisma") {
    const database = await testDatabase(options.database)
    db = database
    await applySchema(cellName, database.url)
    const pgFixture = await createFixture(cellName, database.url)
    fixture = pgFixture
    const accounts = SCHEMA_TABLES[cellName].accounts
    if (mark) await pgFixture.pool.query(`ALTER TABLE ${accounts} ADD COLUMN refresh_error text`)
    if (expiry && cellName !== "prisma")
      await pgFixture.pool.query(`ALTER TABLE ${accounts} ADD COLUMN refresh_token_expires_at bigint`)
    setColumn = async (column, value) => {
      await pgFixture.pool.query(
        `UPDATE ${accounts} SET "${column}" = $1 WHERE "provider" = $2 AND "providerAccountId" = $3`,
        [value, key.provider, key.providerAccountId],
      )
    }
  } else {
    if (mark) throw new Error(`${cellName}: the test Prisma schema has no reauth mark column`)
    const which: PrismaOtherDatabase = cellName === "prisma-mysql" ? "mysql" : "sqlite"
    const database = await testOtherDatabase(which, options.database)
    db = database
    await applyPrismaSchema(which, database.url)
    const other = await createPrismaOtherFixture(which, database.url)
    fixture = other as unknown as DatabaseFixture<unknown>
    const q = (name: string) => (which === "mysql" ? `\`${name}\`` : `"${name}"`)
    setColumn = async (column, value) => {
      await other.direct.query(
        `UPDATE ${q("Account")} SET ${q(column)} = ? WHERE ${q("provider")} = ? AND ${q("providerAccountId")} = ?`,
        [value, key.provider, key.providerAccountId],
      )
    }
  }
  const tokenSync = (
    refresh: Partial<RefreshOptions> = {},
    syncOptions: Omit<TokenSyncOptions, "refresh"> = {},
  ): TokenSyncAdapter<Adapter> => {
    const provider = {
      id: providerId,
      type: "oidc" as const,
      issuer: op.issuer,
      clientId: op.clientId,
      clientSecret: op.clientSecret,
      token: kc.url,
    }
    return withTokenSync(fixture.adapter, fixture.db as object, {
      ...syncOptions,
      refresh: {
        providers: [provider],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        ...(mark ? { reauthColumn: "refresh_error" } : {}),
        ...(expiry ? { refreshTokenExpiryColumn: "refresh_token_expires_at" } : {}),
        ...refresh,
      },
    })
  }
  const row = async (): Promise<Record<string, unknown>> => (await fixture.accountRows(key))[0]!
  const adapter = tokenSync()
  const app = await startAuthApp({
    provider: op,
    providerId,
    session: "database",
    adapter,
    events: adapter.events,
    providerOverrides: { token: kc.url, userinfo: op.endpoints.userinfo },
  })
  const browser = new Browser()
  const signIn = await app.signIn(browser, { login })
  if (!signIn.ok) throw new Error(`sign-in failed:\n${signIn.trace}`)
  return {
    op,
    kc,
    fixture,
    app,
    browser,
    userId: String((await row()).userId),
    tokenSync,
    row,
    setColumn,
    async waitForExpiry() {
      const wait = Number((await row()).expires_at) * 1000 - Date.now() + 50
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    },
    async signInAgain() {
      const result = await app.signIn(browser, { login, forceLogin: true })
      if (!result.ok) throw new Error(`sign-in failed:\n${result.trace}`)
    },
    async stop() {
      await app.stop()
      await fixture.close()
      await kc.stop()
      await op.stop()
      await db.drop()
    },
  }
}
