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
  /** The client (its documented PostgreSQL schema). Default "pg". */
  cell?: "pg" | "prisma"
  /** Add the reauth mark column `refresh_error` and configure it. Default true (pg only: Prisma's model has none). */
  reauthColumn?: boolean
  /**
   * Configure `refresh.refreshTokenExpiryColumn: "refresh_token_expires_at"` (BIGINT); on pg the column is added
   * first (Prisma's test schema has it). Default false.
   */
  refreshTokenExpiryColumn?: boolean
}

/** Starts the provider, the proxy, the database and the app, and signs the user in once. */
export async function startKeycloakCell(options: KeycloakCellOptions): Promise<KeycloakCell> {
  const { providerId, login } = options
  const op = await startOidcProvider({ accessTokenTtl: 2, rotateRefreshToken: true })
  const kc = await startKeycloakProxy(op.endpoints.token, options.proxy)
  const db = await testDatabase(options.database)
  const cellName = options.cell ?? "pg"
  const mark = options.reauthColumn ?? cellName === "pg"
  const expiry = options.refreshTokenExpiryColumn ?? false
  await applySchema(cellName, db.url)
  const fixture = await createFixture(cellName, db.url)
  const accounts = SCHEMA_TABLES[cellName].accounts
  if (mark) await fixture.pool.query(`ALTER TABLE ${accounts} ADD COLUMN refresh_error text`)
  if (expiry && cellName === "pg")
    await fixture.pool.query(`ALTER TABLE ${accounts} ADD COLUMN refresh_token_expires_at bigint`)
  const key = { provider: providerId, providerAccountId: login }
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
