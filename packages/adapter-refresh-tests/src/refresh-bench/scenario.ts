/**
 * A real refresh scenario: a rotating oidc-provider, a fixture database with its documented schema, the
 * real Auth.js app wrapped by withTokenSync, and one account linked by a real sign-in (so it holds a real
 * refresh token). Shared by the refresh tests and `pnpm bench`.
 */
import { withTokenSync, type RefreshOptions, type TokenCodec, type TokenSyncAdapter } from "authjs-adapter-refresh"
import { startAuthApp, type AuthApp } from "../harness/auth-app.js"
import { Browser } from "../harness/browser.js"
import { startOidcProvider, type StartOidcProviderOptions, type TestOidcProvider } from "../harness/oidc-provider.js"
import { applySchema, createFixture, type DatabaseFixture, type PgCell } from "../fixtures/databases.js"
import type { ConformanceFixtureModule } from "../kit/fixture.js"
import type { StormProviderSettings } from "./storm-protocol.js"

export const PROVIDER_ID = "local-oidc"

export interface RefreshScenario {
  op: TestOidcProvider
  fixture: DatabaseFixture<unknown>
  adapter: TokenSyncAdapter
  app: AuthApp
  provider: StormProviderSettings
  /** The provider object as the app gives it to Auth.js (and to refresh.providers). */
  providerConfig: RefreshOptions["providers"][number]
  key: { provider: string; providerAccountId: string }
  userId: string
  browser: Browser
  login: string
  /** The stored row of the account (first one), read with SQL. */
  row(): Promise<Record<string, unknown>>
  /** Sleeps until the stored access token is due for refresh (given the skew). */
  waitForExpiry(skewSeconds?: number): Promise<void>
  stop(): Promise<void>
}

export interface ScenarioOptions {
  /** One of the PostgreSQL cells of fixtures/databases.ts (their fixtures have a pg Pool)... */
  cell?: PgCell
  /**
   * ...or a conformance fixture module (any client on any database, see src/kit/fixture.ts). Its
   * scenario's `fixture.pool` throws, and `setupSql` is not available.
   */
  fixtureModule?: URL
  databaseUrl: string
  login?: string
  skewSeconds?: number
  provider?: StartOidcProviderOptions
  refresh?: Partial<RefreshOptions>
  tokenFields?: string[]
  /** Encryption at rest for the scenario's own adapter (its sign-in writes through it). */
  codec?: TokenCodec
  /** SQL run after the schema is applied (e.g. an extra column). */
  setupSql?: string
}

/** The scenario's fixture, its schema applied: a cell's, or a fixture module's without a pg Pool. */
async function scenarioFixture(options: ScenarioOptions): Promise<DatabaseFixture<unknown>> {
  if (options.fixtureModule) {
    const module = (await import(options.fixtureModule.href)) as ConformanceFixtureModule
    await module.prepareDatabase(options.databaseUrl)
    const fixture = await module.createFixture(options.databaseUrl)
    const noPool = (): never => {
      throw new Error(`the scenario of ${options.fixtureModule!.href} has no pg Pool (it is not a PostgreSQL cell)`)
    }
    return {
      cell: undefined as unknown as PgCell,
      adapter: fixture.adapter,
      db: fixture.db,
      get store(): never {
        return noPool()
      },
      get pool(): never {
        return noPool()
      },
      accountRows: (key) => fixture.accountRows(key),
      insertUser: noPool,
      orphanAccountsOf: (userId) => fixture.orphanAccountsOf(userId),
      close: () => fixture.close(),
    }
  }
  if (!options.cell) throw new Error("startRefreshScenario: give a cell or a fixtureModule")
  await applySchema(options.cell, options.databaseUrl)
  return createFixture(options.cell, options.databaseUrl)
}

export async function startRefreshScenario(options: ScenarioOptions): Promise<RefreshScenario> {
  const login = options.login ?? "storm-user"
  const skewSeconds = options.skewSeconds ?? 0
  const op = await startOidcProvider({ accessTokenTtl: 3, rotateRefreshToken: true, ...options.provider })
  const fixture = await scenarioFixture(options)
  if (options.setupSql) await fixture.pool.query(options.setupSql)
  const providerConfig = {
    id: PROVIDER_ID,
    type: "oidc" as const,
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret,
  }
  const adapter = withTokenSync(fixture.adapter, fixture.db as object, {
    ...(options.tokenFields ? { tokenFields: options.tokenFields } : {}),
    ...(options.codec ? { codec: options.codec } : {}),
    // The provider's tokens live 2-3 s here: no minimum interval, unless a test asks for one.
    refresh: { providers: [providerConfig], skewSeconds, minRefreshIntervalSeconds: 0, ...options.refresh },
  })
  const app = await startAuthApp({
    provider: op,
    providerId: PROVIDER_ID,
    session: "database",
    adapter,
    events: adapter.events,
  })
  const browser = new Browser()
  const result = await app.signIn(browser, { login })
  if (!result.ok) throw new Error(`sign-in failed:\n${result.trace}`)
  const key = { provider: PROVIDER_ID, providerAccountId: login }
  const rows = await fixture.accountRows(key)
  if (rows.length !== 1) throw new Error(`expected one account row after sign-in, found ${rows.length}`)
  const userId = String(rows[0]!.userId)
  const row = async (): Promise<Record<string, unknown>> => (await fixture.accountRows(key))[0]!
  return {
    op,
    fixture,
    adapter,
    app,
    provider: {
      id: PROVIDER_ID,
      issuer: op.issuer,
      clientId: op.clientId,
      clientSecret: op.clientSecret,
      tokenEndpoint: op.endpoints.token,
    },
    providerConfig,
    key,
    userId,
    browser,
    login,
    row,
    async waitForExpiry(skew = skewSeconds) {
      const expiresAt = Number((await row()).expires_at)
      const wait = expiresAt * 1000 - skew * 1000 - Date.now() + 50
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    },
    async stop() {
      await app.stop()
      await fixture.close()
      await op.stop()
    },
  }
}
