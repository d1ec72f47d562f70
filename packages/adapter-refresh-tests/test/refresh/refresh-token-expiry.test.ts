/**
 * The refresh token's own expiry (issue 19, part 3; option `refresh.refreshTokenExpiryColumn`), on real
 * PostgreSQL through node-postgres (the pg store), Kysely and Prisma (@prisma/adapter-pg), and through Prisma on a real
 * SQLite file (@prisma/adapter-better-sqlite3) and a real MariaDB server (@prisma/adapter-mariadb), each column
 * a 64-bit integer as the README says to add it: real Auth.js sign-ins, the real
 * oidc-provider issuing and rotating every token, and a real proxy in front of its token endpoint answering as
 * Keycloak does (`refresh_expires_in`: the SSO session bound, `0` for offline tokens; src/harness/keycloak-proxy.ts).
 * The provider itself does not enforce Keycloak's bound, so the controls show the request the library would have
 * sent: without the column it goes out. One proxy switch is not Keycloak (`omitRefreshExpiresIn`: an answer that
 * says nothing of the refresh token's life); the test using it says so.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import diagnostics from "node:diagnostics_channel"
import { inspect } from "node:util"
import {
  REFRESH_TOKEN_NEVER_EXPIRES,
  RefreshTokenError,
  TOKEN_SYNC_CHANNELS,
  type ReauthEvent,
  type RefreshOptions,
  type TokenSyncAdapter,
  type TokenSyncOptions,
} from "authjs-adapter-refresh"
import type { KeycloakProxy } from "../../src/harness/keycloak-proxy.js"
import type { TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { startKeycloakCell, type KeycloakCell } from "./keycloak-cell.js"
import { rejection } from "./scenario-hooks.js"

const PROVIDER_ID = "keycloak"
const LOGIN = "rt-expiry-user"
const COLUMN = "refresh_token_expires_at"
const IDLE = 1800

const nowSeconds = (): number => Math.floor(Date.now() / 1000)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const received: ReauthEvent[] = []
const listener = (event: unknown) => received.push(event as ReauthEvent)

describe.each(["pg", "kysely", "prisma", "prisma-sqlite", "prisma-mysql"] as const)(
  "the refresh token's expiry column (%s)",
  (client) => {
    /** Starts a cell with the column, sign-in done (an offline session: Keycloak's `refresh_expires_in: 0`). */
    const start = (database: string, ssoSessionMaxSeconds: number) =>
      startKeycloakCell({
        database: `${database}_${client.replace("-", "_")}`,
        providerId: PROVIDER_ID,
        login: LOGIN,
        cell: client,
        refreshTokenExpiryColumn: true,
        proxy: { ssoSessionIdleSeconds: IDLE, ssoSessionMaxSeconds },
      })
    const stored = async (cell: KeycloakCell): Promise<number | null> => {
      const value = (await cell.row())[COLUMN]
      return value === null || value === undefined ? null : Number(value)
    }
    /** A withTokenSync as another process would have it, with the column (or without: `withColumn` false). */
    const adapterOf = (
      cell: KeycloakCell,
      withColumn = true,
      refresh: Partial<RefreshOptions> = {},
      options: Omit<TokenSyncOptions, "refresh"> = {},
    ): TokenSyncAdapter =>
      cell.tokenSync(withColumn ? refresh : { ...refresh, refreshTokenExpiryColumn: undefined }, options)
    const ask = (cell: KeycloakCell, adapter: TokenSyncAdapter) =>
      adapter.getAccessToken({ userId: cell.userId, provider: PROVIDER_ID })

    beforeAll(() => {
      diagnostics.subscribe(TOKEN_SYNC_CHANNELS.reauth, listener)
    })
    afterAll(() => {
      diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.reauth, listener)
    })

    describe("what sign-ins and refreshes store (SSO Session Idle 1800 s)", () => {
      let cell: KeycloakCell
      let kc: KeycloakProxy
      beforeAll(async () => {
        cell = await start("rt_expiry_store", 36_000)
        kc = cell.kc
      }, 60_000)
      afterAll(async () => {
        await cell?.stop()
      })

      test("[Keycloak proxy] sign-ins: offline `0` is stored as never; an online bound as an absolute time", async () => {
        expect(cell.app.signIns.at(-1)?.account?.refresh_expires_in).toBe(0)
        expect(await stored(cell)).toBe(REFRESH_TOKEN_NEVER_EXPIRES)

        kc.onlineSession = true
        const before = nowSeconds()
        await cell.signInAgain()
        const after = nowSeconds()
        expect(cell.app.signIns.at(-1)?.account?.refresh_expires_in).toBe(IDLE)
        const expiresAt = (await stored(cell))!
        expect(expiresAt >= before + IDLE - 1 && expiresAt <= after + IDLE).toBe(true)
      }, 30_000)

      test(
        "[Keycloak proxy] refreshes: a new refresh token brings its expiry; an answer without a refresh token " +
          "keeps the stored one; an offline refresh stores never",
        async () => {
          kc.onlineSession = true
          await cell.waitForExpiry()
          const before = nowSeconds()
          expect((await ask(cell, adapterOf(cell))).refreshed).toBe(true)
          const expiresAt = (await stored(cell))!
          expect(expiresAt >= before + IDLE - 1 && expiresAt <= nowSeconds() + IDLE).toBe(true)
          expect((await cell.row()).refresh_token).toBe(kc.lastAnswer!.body.refresh_token)

          // An offline refresh: `refresh_expires_in: 0` next to the new refresh token.
          kc.onlineSession = false
          await cell.waitForExpiry()
          expect((await ask(cell, adapterOf(cell))).refreshed).toBe(true)
          expect(kc.lastAnswer!.body.refresh_expires_in).toBe(0)
          expect(await stored(cell)).toBe(REFRESH_TOKEN_NEVER_EXPIRES)

          // "Use refresh tokens" off: no refresh token, `refresh_expires_in: 0`. The stored token and its
          // expiry stay (a value no answer would give, to tell it apart).
          const marker = nowSeconds() + 777
          await cell.setColumn(COLUMN, marker)
          const refreshToken = (await cell.row()).refresh_token
          kc.omitRefreshToken = true
          try {
            await cell.waitForExpiry()
            expect((await ask(cell, adapterOf(cell))).refreshed).toBe(true)
          } finally {
            kc.omitRefreshToken = false
          }
          expect((await cell.row()).refresh_token).toBe(refreshToken)
          expect(await stored(cell)).toBe(marker)
          // The provider rotated (and consumed) that refresh token behind the proxy: a new sign-in replaces it.
          await cell.signInAgain()
          expect(await stored(cell)).toBe(REFRESH_TOKEN_NEVER_EXPIRES)
        },
        30_000,
      )

      test(
        "[proxy, not Keycloak: no refresh_expires_in] a new refresh token without an expiry (refresh or " +
          "sign-in) makes it unknown (NULL); control: without the column nothing is written to it",
        async () => {
          kc.omitRefreshExpiresIn = true
          try {
            // Control first: a refresh by an instance without the option leaves the column as it was.
            await cell.waitForExpiry()
            expect((await ask(cell, adapterOf(cell, false))).refreshed).toBe(true)
            expect(await stored(cell)).toBe(REFRESH_TOKEN_NEVER_EXPIRES)

            await cell.waitForExpiry()
            const old = (await cell.row()).refresh_token
            expect((await ask(cell, adapterOf(cell))).refreshed).toBe(true)
            expect((await cell.row()).refresh_token).not.toBe(old)
            expect(await stored(cell)).toBeNull()

            // The same through a sign-in: a known expiry first, then a sign-in whose answer says nothing of it.
            kc.omitRefreshExpiresIn = false
            await cell.signInAgain()
            expect(await stored(cell)).toBe(REFRESH_TOKEN_NEVER_EXPIRES)
            kc.omitRefreshExpiresIn = true
            await cell.signInAgain()
            expect(cell.app.signIns.at(-1)?.account?.refresh_expires_in).toBeUndefined()
            expect(await stored(cell)).toBeNull()
          } finally {
            kc.omitRefreshExpiresIn = false
          }
        },
        30_000,
      )

      test(
        "[Keycloak proxy] never expires: an offline token is refreshed even by a clock 50 years ahead; " +
          "the same clock fails an online one with no request",
        async () => {
          kc.onlineSession = false
          await cell.waitForExpiry()
          await ask(cell, adapterOf(cell)) // stores never again (the previous test left NULL)
          expect(await stored(cell)).toBe(REFRESH_TOKEN_NEVER_EXPIRES)
          const later = { now: () => Date.now() + 50 * 365 * 86_400_000 }
          const requests = kc.requests
          expect((await ask(cell, adapterOf(cell, true, {}, later))).refreshed).toBe(true)
          expect(kc.requests).toBe(requests + 1)
          expect(await stored(cell)).toBe(REFRESH_TOKEN_NEVER_EXPIRES)

          await cell.setColumn(COLUMN, nowSeconds() + 3600)
          const error = await rejection(ask(cell, adapterOf(cell, true, {}, later)))
          expect((error as RefreshTokenError).reason).toBe("expired")
          expect(kc.requests).toBe(requests + 1)
        },
        30_000,
      )
    })

    describe("a session that ends (SSO Session Max 10 s): keep-alive stops, then expired with no request", () => {
      let cell: KeycloakCell
      let kc: KeycloakProxy
      let op: TestOidcProvider
      let sessionEnds = 0
      beforeAll(async () => {
        cell = await start("rt_expiry_max", 10)
        ;({ kc, op } = cell)
        kc.onlineSession = true
        await cell.signInAgain()
        sessionEnds = (await stored(cell))!
      }, 60_000)
      afterAll(async () => {
        await cell?.stop()
      })

      const keepAlive = (adapter: TokenSyncAdapter) =>
        adapter.refreshExpiring({ unusedForSeconds: 3600, refreshTokenWithinSeconds: 600, tryLockMs: 5000 })

      test(
        "[Keycloak proxy] keep-alive refreshes before the expiry, then stops once a refresh does not move it; " +
          "controls: no column, no refresh; another process (no memory of it) refreshes once",
        async () => {
          expect(sessionEnds - nowSeconds()).toBeGreaterThan(5)
          // Control: without the column, nothing says the refresh token is about to die.
          const requests0 = kc.requests
          expect(await keepAlive(adapterOf(cell, false))).toMatchObject({ due: 0, refreshed: 0 })
          expect(kc.requests).toBe(requests0)

          const worker = adapterOf(cell)
          expect(await keepAlive(worker)).toMatchObject({ due: 1, refreshed: 1, expiryCapped: 0 })
          expect(kc.requests).toBe(requests0 + 1)
          // The session maximum: the refresh did not move the expiry.
          expect(Math.abs((await stored(cell))! - sessionEnds)).toBeLessThanOrEqual(1)
          for (let pass = 0; pass < 3; pass++)
            expect(await keepAlive(worker)).toMatchObject({ due: 0, refreshed: 0, expiryCapped: 1 })
          expect(kc.requests).toBe(requests0 + 1)

          // Control: the memory is what stops it. A fresh process refreshes once, learns, and stops too.
          const other = adapterOf(cell)
          expect(await keepAlive(other)).toMatchObject({ refreshed: 1 })
          expect(await keepAlive(other)).toMatchObject({ refreshed: 0, expiryCapped: 1 })
          expect(kc.requests).toBe(requests0 + 2)
        },
        30_000,
      )

      test(
        "[Keycloak proxy] past the expiry: RefreshTokenError 'expired', no provider request, one " +
          "refresh_token_expired event without any token; control: without the column the provider is called",
        async () => {
          const wait = ((await stored(cell))! + 1) * 1000 - Date.now()
          if (wait > 0) await sleep(wait)
          received.splice(0)
          const requests = kc.requests
          const grants = op.stats.refreshGrants
          const adapter = adapterOf(cell)
          const error = await rejection(ask(cell, adapter))
          expect(error).toBeInstanceOf(RefreshTokenError)
          expect({
            code: (error as RefreshTokenError).code,
            reason: (error as RefreshTokenError).reason,
            provider: (error as RefreshTokenError).provider,
          }).toEqual({ code: "REFRESH_INVALID_GRANT", reason: "expired", provider: PROVIDER_ID })
          // Once per process and dead token.
          expect(((await rejection(ask(cell, adapter))) as RefreshTokenError).reason).toBe("expired")
          expect(await keepAlive(adapter)).toMatchObject({ refreshed: 0, refreshTokenExpired: 1 })
          expect(await adapter.refreshExpiring({ withinSeconds: 300, tryLockMs: 5000 })).toMatchObject({
            due: 0,
            refreshed: 0,
            refreshTokenExpired: 1,
          })
          expect({ requests: kc.requests, grants: op.stats.refreshGrants }).toEqual({ requests, grants })
          const events = received.splice(0)
          expect(events).toEqual([
            {
              store: expect.any(String),
              provider: PROVIDER_ID,
              userId: cell.userId,
              providerAccountId: LOGIN,
              reason: "refresh_token_expired",
            },
          ])
          const shown = inspect(error, { depth: 10, showHidden: true })
          const text = `${JSON.stringify(events)}${shown}${JSON.stringify(error)}`
          const row = await cell.row()
          const tokens = [...op.issued.map((t) => t.value), String(row.id_token)].filter((t) => t.length > 0)
          expect(tokens.length).toBeGreaterThan(3)
          expect(tokens.filter((token) => text.includes(token))).toEqual([])

          // Control: without the column the dead refresh token is sent (a real Keycloak would refuse it).
          await ask(cell, adapterOf(cell, false))
          expect(kc.requests).toBe(requests + 1)
        },
        30_000,
      )

      test("[Keycloak proxy] a new sign-in brings a new expiry: refreshing works again", async () => {
        await cell.signInAgain()
        expect((await stored(cell))! > nowSeconds()).toBe(true)
        await cell.waitForExpiry()
        expect((await ask(cell, adapterOf(cell))).refreshed).toBe(true)
      }, 30_000)
    })
  },
)
