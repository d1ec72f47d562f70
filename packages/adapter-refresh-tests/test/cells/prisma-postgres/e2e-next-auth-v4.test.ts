/**
 * next-auth 4.24, as most users run it: its real Pages Router handler (`NextAuth(req, res, options)`, served
 * without Next.js by src/harness/next-auth-v4-app.ts), its own adapter package `@next-auth/prisma-adapter`
 * 1.0.7 (on the Prisma 7 client of this package), a v4 OAuth provider object carrying only `wellKnown`,
 * the real oidc-provider and real PostgreSQL. The README's v4 lines: `withTokenSync(PrismaAdapter(prisma),
 * prisma)` and `events: adapter.events`. v4 signs OIDC providers in with `account.type === "oauth"`.
 * Also with an `@auth/*` adapter (they work with next-auth 4 too), with database and JWT sessions, and a
 * refresh through `getAccessToken` with the very provider object given to next-auth 4.
 */
import { describe, expect, test } from "@jest/globals"
import { createRequire } from "node:module"
import { withTokenSync } from "authjs-adapter-refresh"
import { PrismaAdapter as AuthPrismaAdapter } from "@auth/prisma-adapter"
import { createFixture, type DatabaseFixture } from "../../../src/fixtures/databases.js"
import { Browser } from "../../../src/harness/browser.js"
import { startNextAuthV4App } from "../../../src/harness/next-auth-v4-app.js"
import { startOidcProvider, type TestOidcProvider } from "../../../src/harness/oidc-provider.js"
import { useE2eDatabase } from "../../suites/e2e-hooks.js"

// CommonJS, loaded untyped: its types import next-auth 4's, which pull next's global types into this program.
const require = createRequire(import.meta.url)
const { PrismaAdapter } = require("@next-auth/prisma-adapter") as {
  PrismaAdapter: (prisma: unknown) => Record<string, unknown>
}

const PROVIDER = "local-oidc"
type Session = "database" | "jwt"
const adapters: Record<string, (prisma: unknown) => object> = {
  "@next-auth/prisma-adapter": (prisma) => PrismaAdapter(prisma),
  "@auth/prisma-adapter": (prisma) => AuthPrismaAdapter(prisma as Parameters<typeof AuthPrismaAdapter>[0]),
}
const cases = Object.keys(adapters).flatMap((name) =>
  (["database", "jwt"] as const).map((session): [string, Session] => [name, session]),
)

describe.each(cases)("next-auth 4.24 handler + %s (%s sessions)", (adapterName, session) => {
  const bareAdapter = (prisma: unknown) => adapters[adapterName]!(prisma)
  const tag = `${adapterName.startsWith("@next-auth") ? "na" : "auth"}-${session}`
  let fixture: DatabaseFixture<unknown>
  const start = useE2eDatabase(
    `e2e_next_auth_v4_${tag.replace("-", "_")}`,
    "prisma",
    (url) => createFixture("prisma", url),
    (ready) => {
      fixture = ready.fixture
    },
  )
  const issued = (op: TestOidcProvider, login: string, kind: "access_token" | "refresh_token") =>
    op.issued.filter((t) => t.kind === kind && t.accountId === login).map((t) => t.value)
  const rowOf = async (login: string) => {
    const rows = await fixture.accountRows({ provider: PROVIDER, providerAccountId: login })
    expect(rows).toHaveLength(1)
    return rows[0]!
  }
  test("with events: adapter.events, the second sign-in's tokens are stored; without it (control) the first ones stay", async () => {
    const op = await start(startOidcProvider({ accessTokenTtl: 60 }))
    const prisma = fixture.db
    const adapter = withTokenSync(bareAdapter(prisma), prisma as object)
    const synced = await start(
      startNextAuthV4App({ provider: op, providerId: PROVIDER, adapter, events: adapter.events, session }),
    )
    // The control: the same wrapped adapter, but the README's events line left out.
    const control = await start(
      startNextAuthV4App({
        provider: op,
        providerId: PROVIDER,
        adapter: withTokenSync(bareAdapter(prisma), prisma as object),
        session,
      }),
    )

    for (const [app, login] of [
      [synced, `synced-${tag}`],
      [control, `control-${tag}`],
    ] as const) {
      for (let i = 0; i < 2; i++) {
        const result = await app.signIn(new Browser(), { login })
        expect({ ok: result.ok, trace: result.trace }).toEqual({ ok: true, trace: result.trace })
      }
      expect(issued(op, login, "access_token")).toHaveLength(2)
    }

    // next-auth 4 reports the OIDC sign-in as type "oauth", with the raw tokens.
    expect(synced.signIns.map((m) => m.account?.type)).toEqual(["oauth", "oauth"])
    const [at1, at2] = issued(op, `synced-${tag}`, "access_token")
    const [, rt2] = issued(op, `synced-${tag}`, "refresh_token")
    expect(synced.signIns[1]!.account!.access_token).toBe(at2)
    const row = await rowOf(`synced-${tag}`)
    expect({ access_token: row.access_token, refresh_token: row.refresh_token }).toEqual({
      access_token: at2,
      refresh_token: rt2,
    })
    expect(row.access_token).not.toBe(at1)
    expect((await op.userinfo(String(row.access_token))).status).toBe(200)

    // Control: the first sign-in's tokens are still stored (the stale token this project exists to fix).
    const [c1, c2] = issued(op, `control-${tag}`, "access_token")
    const controlRow = await rowOf(`control-${tag}`)
    expect(controlRow.access_token).toBe(c1)
    expect(controlRow.access_token).not.toBe(c2)
    expect([...synced.errors, ...control.errors]).toEqual([])
  }, 60_000)
  test("getAccessToken refreshes with the very provider object given to next-auth 4 (wellKnown only) and stores the rotated tokens", async () => {
    const op = await start(startOidcProvider({ accessTokenTtl: 2, rotateRefreshToken: true }))
    const prisma = fixture.db
    const adapter = withTokenSync(bareAdapter(prisma), prisma as object)
    const app = await start(
      startNextAuthV4App({ provider: op, providerId: PROVIDER, adapter, events: adapter.events, session }),
    )
    // The same provider object next-auth 4 signs in with.
    const refreshing = withTokenSync(bareAdapter(prisma), prisma as object, {
      refresh: { providers: [app.provider], skewSeconds: 0 },
    })
    const login = `refresh-${tag}`
    const result = await app.signIn(new Browser(), { login })
    expect({ ok: result.ok, trace: result.trace }).toEqual({ ok: true, trace: result.trace })
    const before = await rowOf(login)
    await new Promise((resolve) => setTimeout(resolve, Number(before.expires_at) * 1000 - Date.now() + 50))

    const token = await refreshing.getAccessToken({ userId: String(before.userId), provider: PROVIDER })

    expect(token.refreshed).toBe(true)
    expect(op.stats.refreshGrants).toBe(1)
    const after = await rowOf(login)
    expect(after.access_token).toBe(token.accessToken)
    expect(after.refresh_token).not.toBe(before.refresh_token)
    expect((await op.userinfo(token.accessToken)).status).toBe(200)
  }, 60_000)
})
