/**
 * What every Better Auth suite sets up: the pg scenario (the real rotating provider, a fresh PostgreSQL database
 * with the lease table) and Better Auth instances on it, each stopped after the suite.
 */
import { randomBytes } from "node:crypto"
import { afterAll } from "@jest/globals"
import { startBetterAuthApp, type BetterAuthApp } from "../../src/refresh-bench/better-auth-app.js"
import { LEASE_TABLE_SQL } from "../../src/refresh-bench/lease-mode.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import type { StormProviderSettings } from "../../src/refresh-bench/storm-protocol.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { useRefreshScenario } from "./scenario-hooks.js"

/** `startBetterAuthApp`'s options, less what the scenario gives (database, provider, redirect URIs). */
export type BetterAuthAppOptions = Omit<
  Parameters<typeof startBetterAuthApp>[0],
  "pool" | "provider" | "addRedirectUri" | "secret"
> & {
  /** Better Auth's `secret`; default a random one per instance. */
  secret?: string
}

export interface BetterAuthTestbed {
  /** The started scenario (set once the suite's first `beforeAll` ran). */
  readonly s: RefreshScenario
  /** Starts a Better Auth instance on the scenario's database: another "process", no memory shared. */
  start(options?: BetterAuthAppOptions): Promise<BetterAuthApp>
}

/**
 * Registers the hooks: the scenario (its database named after `databasePrefix`, access tokens living
 * `accessTokenTtl` seconds) before the suite, and after it every instance `start` made.
 */
export function useBetterAuthScenario(databasePrefix: string, accessTokenTtl = 60): BetterAuthTestbed {
  let scenario: RefreshScenario | undefined
  const apps: BetterAuthApp[] = []
  useRefreshScenario(
    databasePrefix,
    { cell: "pg", login: "authjs-user", skewSeconds: 0, provider: { accessTokenTtl }, setupSql: LEASE_TABLE_SQL },
    (started) => {
      scenario = started.s
    },
  )
  afterAll(async () => {
    for (const app of apps) await app.stop()
  })
  const bed: BetterAuthTestbed = {
    get s() {
      if (!scenario) throw new Error("the scenario has not started (use it inside a test or beforeAll)")
      return scenario
    },
    async start(options = {}) {
      const s = bed.s
      const app = await startBetterAuthApp({
        ...options,
        pool: s.fixture.pool,
        provider: s.provider,
        addRedirectUri: (uri) => s.op.addRedirectUri(uri),
        secret: options.secret ?? randomBytes(32).toString("base64url"),
      })
      apps.push(app)
      return app
    },
  }
  return bed
}

/**
 * The rotating provider (60 s access tokens) and its settings as Better Auth's `genericOAuth` and the plugin
 * name it ("local-oidc"), for the suites that bring their own database instead of the pg scenario.
 */
export async function startLocalOidc(): Promise<{ op: TestOidcProvider; provider: StormProviderSettings }> {
  const op = await startOidcProvider({ accessTokenTtl: 60, rotateRefreshToken: true })
  const provider: StormProviderSettings = {
    id: "local-oidc",
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret,
    tokenEndpoint: op.endpoints.token,
  }
  return { op, provider }
}
