/**
 * End-to-end suite shared by the per-cell test files: a REAL oidc-provider, the REAL @auth/core `Auth()`
 * served over HTTP, a cookie-jar browser and a REAL database (PostgreSQL, or the one a cell names). Nothing is mocked.
 *
 * The app is wired exactly as the README tells users:
 *   const adapter = withTokenSync(KyselyAdapter(db), db)
 *   Auth(request, { adapter, events: adapter.events, ... })
 * and every scenario also runs (or checks) the BARE adapter as a control, so the suite can fail.
 */
import { describe, expect, test } from "@jest/globals"
import type { Adapter } from "@auth/core/adapters"
import type { AuthConfig } from "@auth/core"
import { withTokenSync } from "authjs-adapter-refresh"
import pg from "pg"

import { startAuthApp, type AuthApp, type SignInResult, type StartAuthAppOptions } from "../../src/harness/auth-app.js"
import { Browser } from "../../src/harness/browser.js"
import {
  startOidcProvider,
  type IssuedToken,
  type IssuedTokenKind,
  type StartOidcProviderOptions,
  type TestOidcProvider,
} from "../../src/harness/oidc-provider.js"
import { TEST_PG_URL_ENV, testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import type { DatabaseFixture, PgCell } from "../../src/fixtures/databases.js"
import type { ConformanceFixture, ConformanceFixtureModule } from "../../src/kit/fixture.js"
import { useE2eDatabase } from "./e2e-hooks.js"

export type SessionStrategy = "database" | "jwt"

/** A database other than PostgreSQL for a cell: its own databases, schema and direct queries. */
export interface E2eDatabase {
  /** Shown in the suite's name, e.g. "MariaDB". */
  label: string
  create(prefix: string): Promise<{ url: string; name: string; drop(): Promise<void> }>
  applySchema(url: string): Promise<void>
  /** The ids of the `User` rows with this email, read directly. */
  usersWithEmail(fixture: DatabaseFixture<unknown>, email: string): Promise<Array<{ id: unknown }>>
  /** How many `Session` rows the user has, read directly. */
  sessionCount(fixture: DatabaseFixture<unknown>, userId: unknown): Promise<number>
}

export interface E2eCell<Db> {
  cell: Extract<PgCell, "prisma" | "kysely" | "drizzle">
  /** The users and sessions tables, quoted. Default `"User"` and `"Session"` (Prisma's and Kysely's schemas). */
  tables?: { users: string; sessions: string }
  createFixture(url: string): Promise<DatabaseFixture<Db>>
  /** Default PostgreSQL; the outage scenario (6) runs on PostgreSQL only. */
  database?: E2eDatabase
  /** The official adapter for `db`, built the way users build it (e.g. `KyselyAdapter(db)`). */
  officialAdapter(db: Db): Adapter
}

const PROVIDER = "local-oidc"
const SECOND = "second-oidc"
const THIRD = "third-oidc"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const nowSeconds = () => Math.floor(Date.now() / 1000)

function issuedFor(op: TestOidcProvider, login: string, kind: IssuedTokenKind): IssuedToken[] {
  return op.issued.filter((t) => t.kind === kind && t.accountId === login)
}

function expectOk(result: SignInResult): void {
  expect({ ok: result.ok, trace: result.trace }).toEqual({ ok: true, trace: result.trace })
}

export function defineE2eSuite<Db>(spec: E2eCell<Db>): void {
  const tables = spec.tables ?? { users: `"User"`, sessions: `"Session"` }
  const other = spec.database
  const title = other ? `${spec.cell} on ${other.label}` : spec.cell
  describe.each<SessionStrategy>(["database", "jwt"])(`e2e ${title} (%s sessions)`, (session) => {
    let database: TestDatabase
    let fixture: DatabaseFixture<Db>
    const start = useE2eDatabase(
      `e2e_${title.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_${session}`,
      spec.cell,
      (url) => spec.createFixture(url),
      (ready) => {
        ;({ database, fixture } = ready)
      },
      other,
    )

    /** The README wiring: `withTokenSync(OfficialAdapter(db), db)` + `events: adapter.events`. */
    const wrappedApp = (op: TestOidcProvider, extra: Partial<StartAuthAppOptions> = {}): Promise<AuthApp> => {
      const adapter = withTokenSync(spec.officialAdapter(fixture.db), fixture.db as object)
      return start(
        startAuthApp({ provider: op, providerId: PROVIDER, session, adapter, events: adapter.events, ...extra }),
      )
    }
    /** The control: the official adapter alone, no events. */
    const bareApp = (op: TestOidcProvider): Promise<AuthApp> =>
      start(startAuthApp({ provider: op, providerId: PROVIDER, session, adapter: spec.officialAdapter(fixture.db) }))
    const provider = (options: StartOidcProviderOptions = {}) =>
      start(startOidcProvider({ accessTokenTtl: 60, ...options }))

    const rowOf = async (login: string, providerId = PROVIDER): Promise<Record<string, unknown>> => {
      const rows = await fixture.accountRows({ provider: providerId, providerAccountId: login })
      expect(rows).toHaveLength(1)
      return rows[0]!
    }
    const usersWithEmail = async (email: string): Promise<Array<{ id: unknown }>> =>
      other
        ? other.usersWithEmail(fixture, email)
        : ((await fixture.pool.query(`SELECT "id" FROM ${tables.users} WHERE "email" = $1`, [email])).rows as Array<{
            id: unknown
          }>)
    const sessionCount = async (userId: unknown): Promise<number> =>
      other
        ? other.sessionCount(fixture, userId)
        : Number(
            (
              await fixture.pool.query(`SELECT count(*)::int AS n FROM ${tables.sessions} WHERE "userId" = $1`, [
                userId,
              ])
            ).rows[0].n,
          )
    const expectedSessions = (n: number) => (session === "database" ? n : 0)
    test("1. first sign-in creates User, Account (access_token, refresh_token, expires_at) and, for database sessions, a Session", async () => {
      const op = await provider()
      const app = await wrappedApp(op)
      const login = `first-${session}`
      const before = nowSeconds()

      expectOk(await app.signIn(new Browser(), { login }))

      const users = await usersWithEmail(`${login}@example.test`)
      expect(users).toHaveLength(1)
      const row = await rowOf(login)
      const [at] = issuedFor(op, login, "access_token")
      const [rt] = issuedFor(op, login, "refresh_token")
      expect(row).toMatchObject({
        userId: users[0]!.id,
        type: "oidc",
        access_token: at!.value,
        refresh_token: rt!.value,
      })
      expect(Number(row.expires_at)).toBeGreaterThanOrEqual(before + 60)
      expect(Math.abs(Number(row.expires_at) - at!.expiresAt!)).toBeLessThanOrEqual(1)
      expect((await op.userinfo(String(row.access_token))).status).toBe(200)
      expect(await sessionCount(users[0]!.id)).toBe(expectedSessions(1))
      expect(app.errorMessages()).toEqual([])
    })
    test("2. a returning sign-in stores exactly the newly issued tokens; control: the bare adapter keeps the first ones", async () => {
      const op = await provider()
      const wrapped = await wrappedApp(op)
      const bare = await bareApp(op)
      const w = `return-w-${session}`
      const b = `return-b-${session}`

      for (const [app, login] of [
        [wrapped, w],
        [bare, b],
      ] as const) {
        expectOk(await app.signIn(new Browser(), { login }))
        expectOk(await app.signIn(new Browser(), { login }))
        const ats = issuedFor(op, login, "access_token")
        const rts = issuedFor(op, login, "refresh_token")
        expect([ats.length, rts.length]).toEqual([2, 2])
        expect(ats[1]!.value).not.toBe(ats[0]!.value)
        expect(rts[1]!.value).not.toBe(rts[0]!.value)
      }

      // With withTokenSync: exactly the second sign-in's tokens, one row.
      const [, atW2] = issuedFor(op, w, "access_token")
      const [, rtW2] = issuedFor(op, w, "refresh_token")
      const rowW = await rowOf(w)
      expect({ access_token: rowW.access_token, refresh_token: rowW.refresh_token }).toEqual({
        access_token: atW2!.value,
        refresh_token: rtW2!.value,
      })
      expect(Math.abs(Number(rowW.expires_at) - atW2!.expiresAt!)).toBeLessThanOrEqual(1)
      expect(rowW.access_token).toBe(wrapped.signIns[1]!.account!.access_token)

      // Control, the bare adapter: the FIRST tokens are still stored (the bug this project fixes).
      const [atB1, atB2] = issuedFor(op, b, "access_token")
      const [rtB1] = issuedFor(op, b, "refresh_token")
      const rowB = await rowOf(b)
      expect({ access_token: rowB.access_token, refresh_token: rowB.refresh_token }).toEqual({
        access_token: atB1!.value,
        refresh_token: rtB1!.value,
      })
      expect(rowB.access_token).not.toBe(atB2!.value)
      expect(wrapped.errorMessages()).toEqual([])
      expect(bare.errorMessages()).toEqual([])
    })
    test("3. after the first access token expired, userinfo accepts the wrapper's stored token and rejects the bare adapter's", async () => {
      const op = await provider({ accessTokenTtl: 2 })
      const wrapped = await wrappedApp(op)
      const bare = await bareApp(op)
      const w = `expiry-w-${session}`
      const b = `expiry-b-${session}`
      await Promise.all([wrapped.signIn(new Browser(), { login: w }), bare.signIn(new Browser(), { login: b })]).then(
        (r) => r.forEach(expectOk),
      )
      // The second sign-ins' tokens live a minute: however slow the machine, they are still valid at the check.
      op.setAccessTokenTtl(60)
      await Promise.all([wrapped.signIn(new Browser(), { login: w }), bare.signIn(new Browser(), { login: b })]).then(
        (r) => r.forEach(expectOk),
      )

      const firstExpiry = Math.max(...[w, b].map((login) => issuedFor(op, login, "access_token")[0]!.expiresAt!))
      await sleep(Math.max(0, firstExpiry * 1000 + 100 - Date.now()))

      const rowW = await rowOf(w)
      const rowB = await rowOf(b)
      expect(rowW.access_token).toBe(issuedFor(op, w, "access_token")[1]!.value)
      expect(rowB.access_token).toBe(issuedFor(op, b, "access_token")[0]!.value)
      const [okW, staleB] = await Promise.all([
        op.userinfo(String(rowW.access_token)),
        op.userinfo(String(rowB.access_token)),
      ])
      expect(okW.status).toBe(200)
      expect(okW.body).toMatchObject({ sub: w })
      expect(staleB.status).toBe(401)
      expect(staleB.headers.get("www-authenticate")).toMatch(/invalid_token/)
    })
    test("4. Google-like provider: no refresh_token on the returning sign-in; the stored one is kept and still works", async () => {
      const op = await provider({ refreshTokenOnReturn: false })
      const app = await wrappedApp(op)
      const login = `google-${session}`
      expectOk(await app.signIn(new Browser(), { login }))
      expectOk(await app.signIn(new Browser(), { login }))

      expect(app.signIns[1]!.account).not.toHaveProperty("refresh_token")
      const rts = issuedFor(op, login, "refresh_token")
      const ats = issuedFor(op, login, "access_token")
      expect(rts).toHaveLength(1)
      expect(ats).toHaveLength(2)
      const row = await rowOf(login)
      expect(row.access_token).toBe(ats[1]!.value) // the new access token is stored...
      expect(row.refresh_token).toBe(rts[0]!.value) // ...and the refresh token is not erased

      const refreshed = await op.refresh(String(row.refresh_token))
      expect(refreshed.status).toBe(200)
      expect(refreshed.body.access_token).toBe(op.lastIssued("access_token")!.value)
      expect(op.stats.refreshGrants).toBe(1)
      expect(app.errorMessages()).toEqual([])
    })
    test("5. a signed-in user links a second provider; allowDangerousEmailAccountLinking links by email (and not without it)", async () => {
      const op1 = await provider()
      const op2 = await provider()
      const configure = (config: AuthConfig) => {
        config.providers = config.providers.map((p) =>
          typeof p === "object" && "id" in p && p.id === SECOND ? { ...p, allowDangerousEmailAccountLinking: true } : p,
        )
      }
      const app = await wrappedApp(op1, {
        extraOidcProviders: [
          { id: SECOND, ...op2 },
          { id: THIRD, ...op2 }, // same provider, without the flag: the control for the email path
        ],
        configure,
      })

      // a) Linking while signed in (different e-mail at the second provider, so only the session links it).
      const browser = new Browser()
      const login = `link-${session}`
      const other = `link-other-${session}`
      expectOk(await app.signIn(browser, { login }))
      expectOk(await app.signIn(browser, { login: other, providerId: SECOND }))
      const [user] = await usersWithEmail(`${login}@example.test`)
      expect(await usersWithEmail(`${other}@example.test`)).toHaveLength(0)
      const first = await rowOf(login, PROVIDER)
      const second = await rowOf(other, SECOND)
      expect(first.userId).toBe(user!.id)
      expect(second.userId).toBe(user!.id)
      expect(second).toMatchObject({
        access_token: issuedFor(op2, other, "access_token").at(-1)!.value,
        refresh_token: issuedFor(op2, other, "refresh_token").at(-1)!.value,
      })
      expect(Number(second.expires_at)).toBeGreaterThan(nowSeconds())
      expect((await app.getSession(browser))?.user?.email).toBe(`${login}@example.test`)

      // b) allowDangerousEmailAccountLinking: a fresh browser, provider 2, same e-mail -> the existing user.
      const dan = `dangerous-${session}`
      expectOk(await app.signIn(new Browser(), { login: dan }))
      expectOk(await app.signIn(new Browser(), { login: dan, providerId: SECOND }))
      const dUsers = await usersWithEmail(`${dan}@example.test`)
      expect(dUsers).toHaveLength(1)
      const dRow = await rowOf(dan, SECOND)
      expect(dRow.userId).toBe(dUsers[0]!.id)
      expect(dRow.access_token).toBe(issuedFor(op2, dan, "access_token").at(-1)!.value)
      expect(dRow.refresh_token).toBe(issuedFor(op2, dan, "refresh_token").at(-1)!.value)

      // Control: the same e-mail through a provider without the flag is refused, and nothing is stored for it.
      const refused = await app.signIn(new Browser(), { login: dan, providerId: THIRD })
      expect(refused.ok).toBe(false)
      expect(refused.error).toBe("OAuthAccountNotLinked")
      expect(await fixture.accountRows({ provider: THIRD, providerAccountId: dan })).toHaveLength(0)
    })

    // Taking one database offline mid-run is done with PostgreSQL's ALLOW_CONNECTIONS here.
    if (!other)
      test("6. a returning sign-in while the database is unavailable fails cleanly; the next sign-in heals the stored tokens", async () => {
        const op = await provider()
        const app = await wrappedApp(op)
        const login = `outage-${session}`
        expectOk(await app.signIn(new Browser(), { login }))
        const [user] = await usersWithEmail(`${login}@example.test`)
        const firstRow = await rowOf(login)
        expect(firstRow.access_token).toBe(issuedFor(op, login, "access_token")[0]!.value)

        const admin = new pg.Client({ connectionString: process.env[TEST_PG_URL_ENV] })
        await admin.connect()
        let failed: SignInResult
        try {
          await admin.query(`ALTER DATABASE "${database.name}" ALLOW_CONNECTIONS false`)
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
            [database.name],
          )
          // Wait until the pool has noticed that its connections were killed (so no request reuses a dead one).
          for (let i = 0; i < 100 && fixture.pool.totalCount > 0; i++) await sleep(20)
          expect(fixture.pool.totalCount).toBe(0)
          const grantsBefore = op.stats.authorizationCodeGrants
          failed = await app.signIn(new Browser(), { login })
          // The provider really issued new tokens: the failure is on our side.
          expect(op.stats.authorizationCodeGrants).toBe(grantsBefore + 1)
        } finally {
          await admin.query(`ALTER DATABASE "${database.name}" ALLOW_CONNECTIONS true`).catch(() => {})
          await admin.end()
        }

        // "Fails cleanly": the very first adapter call of the callback (getUserByAccount) cannot connect, so
        // Auth.js aborts the whole callback: an error page, no session cookie, events.signIn never runs.
        expect(failed.ok).toBe(false)
        expect(failed.sessionCookieSet).toBe(false)
        expect(failed.error).toBe("Configuration")
        expect(failed.authErrors.length).toBeGreaterThan(0)
        for (const e of failed.authErrors) expect(e).toMatch(/^AdapterError[\s\S]*not currently accepting connections/)
        expect(app.signIns).toHaveLength(1)
        // No partial rows: still one account row holding the first tokens, no new session, no new user.
        const afterOutage = await rowOf(login)
        expect({
          access_token: afterOutage.access_token,
          refresh_token: afterOutage.refresh_token,
          expires_at: afterOutage.expires_at,
        }).toEqual({
          access_token: firstRow.access_token,
          refresh_token: firstRow.refresh_token,
          expires_at: firstRow.expires_at,
        })
        expect(await usersWithEmail(`${login}@example.test`)).toHaveLength(1)
        expect(await sessionCount(user!.id)).toBe(expectedSessions(1))
        const outageTokens = issuedFor(op, login, "access_token")[1]!.value
        expect(afterOutage.access_token).not.toBe(outageTokens)

        // The next sign-in heals: the newest tokens the provider issued are stored.
        expectOk(await app.signIn(new Browser(), { login }))
        const healed = await rowOf(login)
        expect(healed.access_token).toBe(issuedFor(op, login, "access_token").at(-1)!.value)
        expect(healed.refresh_token).toBe(issuedFor(op, login, "refresh_token").at(-1)!.value)
        expect((await op.userinfo(String(healed.access_token))).status).toBe(200)
        expect(await sessionCount(user!.id)).toBe(expectedSessions(2))
      })
  })
}

/** A cell known by its conformance fixture module only (the kit's cells: TypeORM, Sequelize, MikroORM). */
export interface FixtureE2eCell {
  /** Shown in the suite's name, e.g. "@auth/typeorm-adapter on PostgreSQL". */
  name: string
  /** The cell's conformance fixture module: its schema on a fresh PostgreSQL database, its adapter and `db`. */
  fixtures: ConformanceFixtureModule
}

/**
 * The short end-to-end check for a cell of the conformance kit, database and JWT sessions, on PostgreSQL:
 * `withTokenSync(fixture.adapter, fixture.db, { refresh })` (the README's wiring for that client) through the
 * real handler. A sign-in, a returning sign-in whose new tokens are stored (control: the bare adapter keeps the
 * first ones), then, once the stored access token has really expired, `getAccessToken` refreshes it and the
 * provider accepts the result.
 */
export function defineFixtureE2eSuite(cell: FixtureE2eCell): void {
  describe(`e2e ${cell.name}`, () => {
    let fixture: ConformanceFixture
    const slug = cell.name.replace(/[^a-z0-9]+/gi, "_").toLowerCase()
    const start = useE2eDatabase<unknown, ConformanceFixture>(
      `e2e_${slug}`.slice(0, 40),
      "pg", // unused: the database comes from `testDatabase`, the schema from the fixture module
      (url) => cell.fixtures.createFixture(url),
      (ready) => {
        fixture = ready.fixture
      },
      { create: (prefix) => testDatabase(prefix), applySchema: (url) => cell.fixtures.prepareDatabase(url) },
    )
    const rowOf = async (login: string): Promise<Record<string, unknown>> => {
      const rows = await fixture.accountRows({ provider: PROVIDER, providerAccountId: login })
      expect(rows).toHaveLength(1)
      return rows[0]!
    }

    // One database and fixture for both strategies: TypeORMAdapter keeps the first DataSource of the process.
    const title =
      "%s sessions: sign-in, a returning sign-in's new tokens stored (control: the bare adapter keeps the first), " +
      "getAccessToken refreshes after expiry"
    test.each<SessionStrategy>(["database", "jwt"])(
      title,
      async (session) => {
        // Two-second access tokens: the second sign-in's token has really expired when getAccessToken runs.
        const op = await start(startOidcProvider({ accessTokenTtl: 2 }))
        const refresh = {
          providers: [
            {
              id: PROVIDER,
              type: "oidc" as const,
              issuer: op.issuer,
              clientId: op.clientId,
              clientSecret: op.clientSecret,
            },
          ],
          skewSeconds: 0,
        }
        const adapter = withTokenSync(fixture.adapter, fixture.db, { refresh })
        const app = await start(
          startAuthApp({ provider: op, providerId: PROVIDER, session, adapter, events: adapter.events }),
        )
        const bare = await start(
          startAuthApp({ provider: op, providerId: PROVIDER, session, adapter: fixture.adapter }),
        )
        const [w, b] = [`orm-user-${session}`, `orm-control-${session}`]
        for (const [target, login] of [
          [app, w],
          [bare, b],
        ] as const) {
          const browser = new Browser()
          expectOk(await target.signIn(new Browser(), { login }))
          expectOk(await target.signIn(browser, { login }))
          // The session of the strategy works: a session row or a JWT cookie.
          expect((await target.getSession(browser))?.user?.email).toBe(`${login}@example.test`)
        }

        const [atW1, atW2] = issuedFor(op, w, "access_token")
        const [, rtW2] = issuedFor(op, w, "refresh_token")
        const row = await rowOf(w)
        expect({ access_token: row.access_token, refresh_token: row.refresh_token }).toEqual({
          access_token: atW2!.value,
          refresh_token: rtW2!.value,
        })
        expect(row.access_token).not.toBe(atW1!.value)
        // Control, the bare adapter: the FIRST tokens are still stored.
        const [atB1, atB2] = issuedFor(op, b, "access_token")
        const rowB = await rowOf(b)
        expect(rowB.access_token).toBe(atB1!.value)
        expect(rowB.access_token).not.toBe(atB2!.value)

        // The stored access token expires for real; the refreshed one lives a minute. The stored expiry is the
        // sign-in's own count (its now + expires_in), up to a second past the provider's: wait for both.
        const expiresAt = Math.max(atW2!.expiresAt!, Number(row.expires_at))
        await sleep(Math.max(0, expiresAt * 1000 + 100 - Date.now()))
        expect((await op.userinfo(String(row.access_token))).status).toBe(401)
        op.setAccessTokenTtl(60)
        const userId = app.signIns[1]!.user.id!
        const grants = op.stats.refreshGrants
        const token = await adapter.getAccessToken({ userId, provider: PROVIDER })
        expect(token.refreshed).toBe(true)
        expect(op.stats.refreshGrants - grants).toBe(1)
        expect(token.accessToken).toBe(op.lastIssued("access_token")!.value)
        expect((await rowOf(w)).access_token).toBe(token.accessToken)
        const userinfo = await op.userinfo(token.accessToken)
        expect(userinfo.status).toBe(200)
        expect(userinfo.body).toMatchObject({ sub: w })
        expect([...app.errorMessages(), ...bare.errorMessages()]).toEqual([])
      },
      20_000,
    )
  })
}
